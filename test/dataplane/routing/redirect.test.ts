import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

describe('HTTP -> HTTPS redirect', () => {
  let backends: TestBackend[];
  let t: TestDataplane;

  before(async () => {
    backends = await startBackends(1);
    t = await startDataplane();
    const port = (backends[0] as TestBackend).port;
    t.dp.apply(
      buildSnapshot({
        hosts: [
          { hostname: 'secure.test', tls: true, routes: [{ backend: 'web' }] },
          { hostname: 'plain.test', routes: [{ backend: 'web' }] },
          {
            hostname: 'forced.test',
            routes: [{ backend: 'web', redirect: { forceSslRedirect: true, code: 301 } }],
          },
          {
            hostname: 'optout.test',
            tls: true,
            routes: [{ backend: 'web', redirect: { sslRedirect: false } }],
          },
        ],
        backends: [{ id: 'web', endpoints: [port] }],
      }),
    );
  });
  after(async () => {
    await t.close();
    await closeAll(backends);
  });

  test('308 to https with path and query kept and the actual https port', async () => {
    const res = await request({ port: t.dp.ports.http, host: 'Secure.Test:80', path: '/a/b?c=1&d=%20' });
    assert.equal(res.status, 308);
    assert.equal(res.headers.location, `https://secure.test:${t.dp.ports.https}/a/b?c=1&d=%20`);
    assert.equal((backends[0] as TestBackend).seen.length, 0);
  });

  test('ACME HTTP-01 challenges are proxied, not redirected', async () => {
    const res = await request({
      port: t.dp.ports.http,
      host: 'secure.test',
      path: '/.well-known/acme-challenge/tok',
    });
    assert.equal(res.status, 200);
    assert.equal(json(res).url, '/.well-known/acme-challenge/tok');
  });

  test('hosts without TLS are served, force-ssl-redirect uses its code, sslRedirect false opts out', async () => {
    assert.equal((await request({ port: t.dp.ports.http, host: 'plain.test' })).status, 200);
    const forced = await request({ port: t.dp.ports.http, host: 'forced.test', path: '/x' });
    assert.equal(forced.status, 301);
    assert.equal(forced.headers.location, `https://forced.test:${t.dp.ports.https}/x`);
    assert.equal((await request({ port: t.dp.ports.http, host: 'optout.test' })).status, 200);
  });

  test('an unknown Host gets 404, never a redirect to it', async () => {
    const res = await request({ port: t.dp.ports.http, host: 'evil.example', path: '/x' });
    assert.equal(res.status, 404);
    assert.equal(res.headers.location, undefined);
  });
});
