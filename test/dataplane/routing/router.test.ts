import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CidrSet } from '../../../src/dataplane/front/cidr.ts';
import { compileSnapshot } from '../../../src/dataplane/routing/compile.ts';
import { httpsLocation, isAcmeChallenge } from '../../../src/dataplane/routing/redirect.ts';
import { parseTarget } from '../../../src/dataplane/routing/request-target.ts';
import { findHost, findRoute, normalizeHost } from '../../../src/dataplane/routing/router.ts';
import { InvalidCidrError } from '../../../src/shared/errors.ts';
import { buildSnapshot, type RouteSpec } from '../helpers/snapshot.ts';

function routeFor(routes: RouteSpec[], path: string): string | undefined {
  const snap = buildSnapshot({ hosts: [{ hostname: 'h.test', routes }], backends: [] });
  const config = compileSnapshot(snap, () => undefined);
  const host = findHost(config, 'h.test');
  assert.ok(host);
  return findRoute(host, path)?.backendId;
}

describe('path matching (Ingress v1)', () => {
  const table: [string, RouteSpec[], string, string | undefined][] = [
    ['Prefix /foo matches /foo', [{ path: '/foo', backend: 'a' }], '/foo', 'a'],
    ['Prefix /foo matches /foo/', [{ path: '/foo', backend: 'a' }], '/foo/', 'a'],
    ['Prefix /foo matches /foo/bar', [{ path: '/foo', backend: 'a' }], '/foo/bar', 'a'],
    ['Prefix /foo does not match /foobar', [{ path: '/foo', backend: 'a' }], '/foobar', undefined],
    ['Prefix /foo/ matches /foo', [{ path: '/foo/', backend: 'a' }], '/foo', 'a'],
    ['Prefix / matches everything', [{ path: '/', backend: 'a' }], '/x/y', 'a'],
    [
      'Exact /foo does not match /foo/',
      [{ path: '/foo', pathType: 'Exact', backend: 'a' }],
      '/foo/',
      undefined,
    ],
    [
      'longest prefix wins whatever the input order',
      [
        { path: '/a', backend: 'short' },
        { path: '/a/b', backend: 'long' },
      ],
      '/a/b/c',
      'long',
    ],
    [
      'Exact beats Prefix of the same path',
      [
        { path: '/a', backend: 'prefix' },
        { path: '/a', pathType: 'Exact', backend: 'exact' },
      ],
      '/a',
      'exact',
    ],
    [
      'ImplementationSpecific is Prefix',
      [{ path: '/imp', pathType: 'ImplementationSpecific', backend: 'a' }],
      '/imp/x',
      'a',
    ],
  ];
  for (const [name, routes, path, want] of table) {
    test(name, () => assert.equal(routeFor(routes, path), want));
  }
});

describe('host matching', () => {
  const snap = buildSnapshot({
    hosts: [
      { hostname: 'exact.example.com', routes: [{ backend: 'exact' }] },
      { hostname: '*.example.com', routes: [{ backend: 'wild' }] },
      { hostname: '*', routes: [{ backend: 'any' }] },
    ],
    backends: [],
  });
  const config = compileSnapshot(snap, () => undefined);
  const pick = (h: string) => findHost(config, normalizeHost(h))?.routes[0]?.backendId;
  test('exact before wildcard before catch-all', () => {
    assert.equal(pick('exact.example.com'), 'exact');
    assert.equal(pick('a.example.com'), 'wild');
    assert.equal(pick('a.b.example.com'), 'any');
    assert.equal(pick('example.com'), 'any');
  });
  test('Host header is lower-cased, port and trailing dot stripped, IPv6 literal kept', () => {
    assert.equal(normalizeHost('Exact.Example.COM:8443'), 'exact.example.com');
    assert.equal(normalizeHost('a.example.com.'), 'a.example.com');
    assert.equal(normalizeHost('[::1]:8080'), '[::1]');
    assert.equal(normalizeHost(undefined), '');
    assert.equal(pick('[::1]:8080'), 'any');
  });
  test('request target: query dropped, absolute-form reduced to its path, garbage refused', () => {
    assert.equal(parseTarget('/a/b?c=d')?.path, '/a/b');
    assert.equal(parseTarget('http://x.test/p?q')?.path, '/p');
    assert.equal(parseTarget('nonsense'), undefined);
  });
});

describe('host matching: Gateway API wildcards (any number of labels) next to Ingress ones (one label)', () => {
  const snap = buildSnapshot({
    hosts: [
      { hostname: 'foo.bar.com', routes: [{ backend: 'exact', anyLabels: true }] },
      { hostname: '*.bar.com', routes: [{ backend: 'gw-bar', anyLabels: true }] },
      { hostname: '*.b.bar.com', routes: [{ backend: 'gw-b-bar', anyLabels: true }] },
      // One host, both kinds: the Ingress route keeps its one-label rule, the HTTPRoute's serves deeper names.
      {
        hostname: '*.mixed.com',
        routes: [
          { path: '/ing', backend: 'ingress' },
          { path: '/gw', backend: 'gateway', anyLabels: true },
        ],
      },
      { hostname: '*.ingress.com', routes: [{ backend: 'ingress-only' }] },
      { hostname: '*', routes: [{ backend: 'any' }] },
    ],
    backends: [],
  });
  const config = compileSnapshot(snap, () => undefined);
  const route = (host: string, path = '/') => {
    const h = findHost(config, normalizeHost(host));
    return h && findRoute(h, path)?.backendId;
  };
  test('a Gateway wildcard matches one label and several, never the bare suffix', () => {
    assert.equal(route('baz.bar.com'), 'gw-bar');
    assert.equal(route('multiple.prefixes.bar.com'), 'gw-bar');
    assert.equal(route('a.b.c.d.bar.com:8080'), 'gw-bar');
    assert.equal(route('bar.com'), 'any');
  });
  test('the exact name wins, then the longest wildcard suffix', () => {
    assert.equal(route('foo.bar.com'), 'exact');
    assert.equal(route('x.b.bar.com'), 'gw-b-bar');
    assert.equal(route('y.x.b.bar.com'), 'gw-b-bar');
    assert.equal(route('b.bar.com'), 'gw-bar');
  });
  test('Ingress wildcards keep exactly one label, also on a host shared with an HTTPRoute', () => {
    assert.equal(route('a.ingress.com'), 'ingress-only');
    assert.equal(route('a.b.ingress.com'), 'any');
    assert.equal(route('a.mixed.com', '/ing'), 'ingress');
    assert.equal(route('a.mixed.com', '/gw'), 'gateway');
    assert.equal(route('a.b.mixed.com', '/gw'), 'gateway');
    assert.equal(route('a.b.mixed.com', '/ing'), undefined);
  });
  test('a snapshot without Gateway wildcards never walks the suffixes', () => {
    const ingressOnly = compileSnapshot(
      buildSnapshot({ hosts: [{ hostname: '*.example.com', routes: [{ backend: 'w' }] }], backends: [] }),
      () => undefined,
    );
    assert.equal(ingressOnly.deepWildcards, 0);
    assert.equal(config.deepWildcards, 3);
    assert.equal(findHost(ingressOnly, 'a.b.example.com'), undefined);
  });
});

describe('trusted proxy CIDRs', () => {
  test('IPv4, IPv6 and IPv4-mapped peers', () => {
    const set = new CidrSet(['10.0.0.0/8', 'fd00::/8', '192.168.1.7']);
    assert.equal(set.has('10.1.2.3'), true);
    assert.equal(set.has('::ffff:10.1.2.3'), true);
    assert.equal(set.has('11.0.0.1'), false);
    assert.equal(set.has('fd12::1'), true);
    assert.equal(set.has('fe80::1'), false);
    assert.equal(set.has('192.168.1.7'), true);
    assert.equal(set.has('192.168.1.8'), false);
  });
  test('bad entries are rejected with a stable code', () => {
    for (const bad of ['10.0.0.0/33', 'nope', '::1/129', '1.2.3.4/x']) {
      assert.throws(
        () => new CidrSet([bad]),
        (e: unknown) => e instanceof InvalidCidrError && e.code === 'STICKY_ERR_OPTION_CIDR',
      );
    }
  });
});

describe('redirect location', () => {
  test('keeps path and query, omits :443, refuses unsafe hosts', () => {
    assert.equal(httpsLocation('a.test', '/p?q=1', 443), 'https://a.test/p?q=1');
    assert.equal(httpsLocation('a.test', '/p', 8443), 'https://a.test:8443/p');
    assert.equal(httpsLocation('evil.test/x', '/', 443), undefined);
    assert.equal(httpsLocation('a@b', '/', 443), undefined);
    assert.equal(isAcmeChallenge('/.well-known/acme-challenge/tok'), true);
    assert.equal(isAcmeChallenge('/.well-known/other'), false);
  });
});
