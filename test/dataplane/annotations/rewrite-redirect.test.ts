import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { ingressSnapshot, nginx } from './ingress-support.ts';

// Re-expressed from ingress-nginx test/e2e/annotations/{rewrite,approot,xforwardedprefix,permanentredirect,
// temporalredirect,fromtowwwredirect}.go, black-box through the dataplane with Ingresses built by the builder.
describe('rewrite-target, use-regex, app-root, x-forwarded-prefix and redirects', () => {
  let web: TestBackend;
  let other: TestBackend;
  let t: TestDataplane;
  const get = (host: string, path: string, headers: Record<string, string> = {}) =>
    request({ port: t.dp.ports.http, host, path, headers });

  before(async () => {
    web = await startBackend('web');
    other = await startBackend('other');
    t = await startDataplane();
    t.dp.apply(
      ingressSnapshot(
        [
          {
            name: 'rewrite',
            host: 'rewrite.bar.com',
            annotations: nginx({ 'rewrite-target': '/$2', 'x-forwarded-prefix': '/something' }),
            paths: [{ path: '/something(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'web' }],
          },
          {
            name: 'regex',
            host: 'regex.bar.com',
            annotations: nginx({ 'use-regex': 'true', 'rewrite-target': '/new/backend' }),
            paths: [
              { path: '/foo/bar/[a-z]{3}', pathType: 'ImplementationSpecific', service: 'web' },
              { path: '/foo.+', pathType: 'ImplementationSpecific', service: 'web' },
            ],
          },
          {
            name: 'redos',
            host: 'redos.bar.com',
            annotations: nginx({ 'use-regex': 'true' }),
            paths: [{ path: '/(a+)+$', pathType: 'ImplementationSpecific', service: 'web' }],
          },
          {
            name: 'regex-neighbour',
            host: 'regex.bar.com',
            paths: [
              { path: '/foo/bar/bar', pathType: 'Prefix', service: 'other' },
              { path: '/foo', pathType: 'Prefix', service: 'other' },
            ],
          },
          {
            name: 'approot',
            host: 'approot.bar.com',
            annotations: nginx({ 'app-root': '/foo' }),
            paths: [{ path: '/', service: 'web' }],
          },
          {
            name: 'permanent',
            host: 'permanent.bar.com',
            annotations: nginx({ 'permanent-redirect': 'https://www.example.com/landing' }),
            paths: [{ path: '/', service: 'web' }],
          },
          {
            name: 'permanent-code',
            host: 'code.bar.com',
            annotations: nginx({
              'permanent-redirect': 'https://www.example.com',
              'permanent-redirect-code': '308',
            }),
            paths: [{ path: '/', service: 'web' }],
          },
          {
            name: 'temporal',
            host: 'temporal.bar.com',
            annotations: nginx({ 'temporal-redirect': 'http://www.example.com/sale' }),
            paths: [{ path: '/', service: 'web' }],
          },
          {
            name: 'www',
            host: 'fromtowwwredirect.bar.com',
            annotations: nginx({ 'from-to-www-redirect': 'true' }),
            paths: [{ path: '/', service: 'web' }],
          },
        ],
        { web: web.port, other: other.port },
      ),
    );
  });
  after(async () => {
    await t.close();
    await closeAll([web, other]);
  });

  test('mirrors "should allow for custom rewrite parameters": /something/new reaches the backend as /new', async () => {
    const res = await get('rewrite.bar.com', '/something/new?a=1');
    assert.equal(res.status, 200);
    assert.equal(json(res).url, '/new?a=1', 'the query string is kept');
    assert.equal((await get('rewrite.bar.com', '/something')).status, 200);
    assert.equal(json(await get('rewrite.bar.com', '/something')).url, '/');
    assert.equal(
      json(await get('rewrite.bar.com', '/SomeThing/Deep/er')).url,
      '/Deep/er',
      'case-insensitive',
    );
    assert.equal((await get('rewrite.bar.com', '/somethingelse')).status, 404);
  });

  test('mirrors "should set the X-Forwarded-Prefix to the annotation value", replacing a client value', async () => {
    const res = await get('rewrite.bar.com', '/something/x', { 'x-forwarded-prefix': '/forged' });
    assert.equal(json(res).headers['x-forwarded-prefix'], '/something');
  });

  test('mirrors "should fail to use longest match for documented warning": regex locations by length', async () => {
    // ingress-nginx: every path of the host becomes a `~*` location, longest first, so the longer regex
    // /foo/bar/[a-z]{3} wins over the literal /foo/bar/bar of the other Ingress, and rewrites to /new/backend.
    const res = await get('regex.bar.com', '/foo/bar/bar');
    assert.equal(res.headers['x-backend-id'], 'web');
    assert.equal(json(res).url, '/new/backend');
    assert.equal(json(await get('regex.bar.com', '/FOO/BAR/QUX')).url, '/new/backend', 'case-insensitive');
  });

  test('mirrors "should use ~* location modifier if regex annotation is present": /foo and /foo.+', async () => {
    const foo = await get('regex.bar.com', '/foo');
    assert.equal(foo.headers['x-backend-id'], 'other');
    assert.equal(json(foo).url, '/foo');
    assert.equal(json(await get('regex.bar.com', '/foo/bar')).url, '/new/backend');
    assert.equal(
      json(await get('regex.bar.com', '/foobar')).url,
      '/new/backend',
      '^/foo.+ is no prefix-by-element',
    );
    assert.equal((await get('regex.bar.com', '/bar')).status, 404);
  });

  test('regex DoS: /(a+)+$ against /aaaa...! is answered like any request, and the next request too', async () => {
    // A backtracking engine would spin for ~2^8000 steps on this path; the VM does ~3 steps per character.
    const evil = `/${'a'.repeat(8000)}!`;
    const [bad, good] = await Promise.all([get('redos.bar.com', evil), get('redos.bar.com', '/aaaa')]);
    assert.equal(bad.status, 404);
    assert.equal(good.status, 200);
  });

  test('mirrors "should redirect to /foo" (app-root): only / is redirected, 302 with an absolute Location', async () => {
    const res = await get('approot.bar.com', '/');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, 'http://approot.bar.com/foo');
    assert.equal((await get('approot.bar.com', '/foo')).status, 200);
  });

  test('mirrors "should respond with a standard redirect code" (permanent-redirect: 301, or its code)', async () => {
    const res = await get('permanent.bar.com', '/any/path');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, 'https://www.example.com/landing');
    const coded = await get('code.bar.com', '/');
    assert.equal(coded.status, 308);
    assert.equal(coded.headers.location, 'https://www.example.com');
    assert.equal(web.seen.filter((s) => s.headers.host === 'permanent.bar.com').length, 0);
  });

  test('mirrors the temporal-redirect case: 302 to the URL', async () => {
    const res = await get('temporal.bar.com', '/x');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, 'http://www.example.com/sale');
  });

  test('mirrors "should redirect from www HTTP to HTTP": 308 to the host without www, path and query kept', async () => {
    const res = await get('www.fromtowwwredirect.bar.com', '/foo?a=b');
    assert.equal(res.status, 308);
    assert.equal(res.headers.location, 'http://fromtowwwredirect.bar.com/foo?a=b');
    assert.equal((await get('fromtowwwredirect.bar.com', '/foo')).status, 200);
  });
});
