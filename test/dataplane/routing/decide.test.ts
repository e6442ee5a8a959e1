import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { explainFacts } from '../../../cmd/explain.ts';
import { compileSnapshot } from '../../../src/dataplane/routing/compile.ts';
import { decide, type RequestFacts, upgradeKind } from '../../../src/dataplane/routing/decide.ts';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

const snapshot = (port: number) =>
  buildSnapshot({
    hosts: [
      {
        hostname: 'app.test',
        tls: true,
        routes: [
          {
            path: '/',
            backend: 'web',
            hsts: { maxAgeSeconds: 60, includeSubdomains: false, preload: false },
          },
          { path: '/admin', backend: 'web', access: { allow: ['10.0.0.0/8'], deny: ['10.6.6.6'] } },
          { path: '/gone', backend: 'missing' },
        ],
      },
      { hostname: 'plain.test', routes: [{ path: '/api', pathType: 'Exact', backend: 'web' }] },
    ],
    backends: [{ id: 'web', endpoints: [port] }],
  });

const base: RequestFacts = {
  method: 'GET',
  target: '/',
  host: 'app.test',
  secure: true,
  clientAddress: '10.1.2.3',
  upgrade: 'none',
  httpsPort: 443,
  draining: false,
};

describe('decide(): one table of requests and what is done with them', () => {
  const config = compileSnapshot(snapshot(1), (id) => (id === 'web' ? { id } : undefined));
  const cases: [string, Partial<RequestFacts>, string][] = [
    ['origin-form', {}, 'proxy /'],
    ['asterisk-form', { target: '*' }, 'local 400'],
    ['authority-form', { target: 'app.test:443' }, 'local 400'],
    ['dot segments resolved before matching', { target: '/x/../admin' }, 'proxy /admin'],
    ['%2e is a dot', { target: '/%2e%2E/admin?a=1' }, 'proxy /admin?a=1'],
    ['encoded slash refused', { target: '/admin%2fx' }, 'local 400'],
    ['encoded backslash refused', { target: '/a%5Cb' }, 'local 400'],
    [
      'absolute-form authority wins over Host',
      { target: 'http://plain.test/api', host: 'app.test' },
      'proxy /api',
    ],
    ['absolute-form of another scheme refused', { target: 'ftp://app.test/' }, 'local 400'],
    ['unknown host', { host: 'nope.test' }, 'local 404'],
    ['exact path miss', { host: 'plain.test', target: '/api/x' }, 'local 404'],
    [
      'plain HTTP on a TLS host redirects',
      { secure: false, target: '/a?b' },
      'redirect https://app.test/a?b',
    ],
    [
      'ACME escape is not exempt',
      { secure: false, target: '/.well-known/acme-challenge/../../x' },
      'redirect https://app.test/x',
    ],
    [
      'ACME challenge exempt',
      { secure: false, target: '/.well-known/acme-challenge/t' },
      'proxy /.well-known/acme-challenge/t',
    ],
    ['access allow list', { target: '/admin', clientAddress: '192.0.2.1' }, 'local 403'],
    ['access deny wins', { target: '/admin', clientAddress: '10.6.6.6' }, 'local 403'],
    [
      'access denied before the redirect',
      { target: '/admin', clientAddress: '192.0.2.1', secure: false },
      'local 403',
    ],
    ['access allowed', { target: '/admin', clientAddress: '::ffff:10.1.1.1' }, 'proxy /admin'],
    ['backend missing', { target: '/gone' }, 'local 503'],
    ['WebSocket tunnel', { upgrade: 'websocket' }, 'tunnel /'],
    ['no new tunnel while draining', { upgrade: 'websocket', draining: true }, 'local 503'],
    ['other upgrade on the tunnel path', { upgrade: 'other' }, 'local 400'],
  ];
  for (const [name, facts, expected] of cases) {
    test(name, () => {
      const d = decide(config, { ...base, ...facts });
      const got =
        d.kind === 'local'
          ? `local ${d.status}`
          : d.kind === 'redirect'
            ? `redirect ${d.location}`
            : `${d.tunnel ? 'tunnel' : 'proxy'} ${d.target}`;
      assert.equal(got, expected);
    });
  }

  test('local answers on HTTPS carry the route HSTS', () => {
    const d = decide(config, { ...base, target: '/admin', clientAddress: '1.1.1.1' });
    assert.equal(d.kind === 'local' && d.hsts, undefined);
    const e = decide(config, { ...base, upgrade: 'websocket', draining: true });
    assert.equal(e.kind === 'local' && e.hsts, 'max-age=60');
  });

  test('upgradeKind: only GET + a websocket token tunnels', () => {
    assert.equal(upgradeKind('GET', 'WebSocket'), 'websocket');
    assert.equal(upgradeKind('GET', 'foo, websocket'), 'websocket');
    assert.equal(upgradeKind('POST', 'websocket'), 'other');
    assert.equal(upgradeKind('GET', 'h2c'), 'other');
    assert.equal(upgradeKind('GET', undefined), 'none');
  });
});

describe('explain and the dataplane agree', () => {
  let web: TestBackend;
  let t: TestDataplane;
  before(async () => {
    web = await startBackend('web');
    t = await startDataplane({ trustedProxies: ['127.0.0.1'] });
    t.dp.apply(snapshot(web.port));
  });
  after(async () => {
    await t.close();
    await closeAll([web]);
  });

  const urls = [
    'https://app.test/',
    'https://app.test/admin',
    'https://app.test/gone',
    'http://app.test/x?y=1',
    'http://app.test/.well-known/acme-challenge/tok',
    'http://plain.test/api',
    'http://plain.test/api/',
    'http://nope.test/',
    'https://app.test/a/../admin',
  ];
  for (const client of ['10.1.2.3', '192.0.2.1']) {
    for (const raw of urls) {
      test(`${raw} from ${client}`, async () => {
        const url = new URL(raw);
        const config = compileSnapshot(t.dp.current, (id) => t.dp.upstreams.backend(id));
        const d = decide(config, explainFacts(url, t.dp.ports.https, client));
        const expected = d.kind === 'proxy' ? 200 : d.status;
        const secure = url.protocol === 'https:';
        const res = await request({
          port: secure ? t.dp.ports.https : t.dp.ports.http,
          secure,
          host: url.host,
          path: `${url.pathname}${url.search}`,
          // The dataplane trusts 127.0.0.1 as a proxy, so this is the client address it checks access against.
          headers: { 'x-forwarded-for': client },
        });
        assert.equal(res.status, expected);
        if (d.kind === 'redirect') assert.equal(res.headers.location, d.location);
      });
    }
  }
});
