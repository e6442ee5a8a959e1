import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { ingressSnapshot, nginx } from './ingress-support.ts';

// Re-expressed from ingress-nginx test/e2e/annotations/{proxy,cors}.go, black-box through the dataplane.
describe('proxy-body-size and enable-cors', () => {
  let web: TestBackend;
  let t: TestDataplane;
  const send = (host: string, body: string, headers: Record<string, string> = {}) =>
    request({ port: t.dp.ports.http, host, path: '/upload', method: 'POST', body, headers });

  before(async () => {
    web = await startBackend('web');
    t = await startDataplane();
    const ing = (name: string, annotations: Record<string, string>) => ({
      name,
      host: `${name}.foo.com`,
      annotations: nginx(annotations),
      paths: [{ path: '/', service: 'web' }],
    });
    t.dp.apply(
      ingressSnapshot(
        [
          ing('limited', { 'proxy-body-size': '1k', 'client-body-buffer-size': '1m' }),
          ing('unlimited', { 'proxy-body-size': '0' }),
          ing('cors', { 'enable-cors': 'true' }),
          ing('corslist', {
            'enable-cors': 'true',
            'cors-allow-origin': 'https://origin.cors.com:8080, https://*.wild.com',
            'cors-allow-credentials': 'false',
            'cors-expose-headers': 'X-CustomResponseHeader',
            'cors-max-age': '200',
          }),
        ],
        { web: web.port },
      ),
    );
  });
  after(async () => {
    await t.close();
    await closeAll([web]);
  });

  test('mirrors "should set client_max_body_size to 1k": a larger Content-Length gets 413, the backend sees nothing', async () => {
    const before = web.seen.length;
    const res = await send('limited.foo.com', 'x'.repeat(2048));
    assert.equal(res.status, 413);
    assert.equal(web.seen.length, before);
    assert.equal((await send('limited.foo.com', 'x'.repeat(1024))).status, 200, 'exactly the limit passes');
    assert.equal(
      json(await send('unlimited.foo.com', 'x'.repeat(200_000))).body.length,
      200_000,
      '0 = unlimited',
    );
  });

  test('a chunked body that grows past the limit while streaming gets 413', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: t.dp.ports.http,
          method: 'POST',
          path: '/upload',
          headers: { host: 'limited.foo.com', 'transfer-encoding': 'chunked' },
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      // Bounded: 64 chunks of 256 bytes (16 KiB), written as the socket accepts them.
      let sent = 0;
      const pump = () => {
        while (sent < 64) {
          sent++;
          if (!req.write('y'.repeat(256))) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(status, 413);
  });

  test('mirrors "should enable cors": ingress-nginx defaults on a normal response', async () => {
    const res = await request({
      port: t.dp.ports.http,
      host: 'cors.foo.com',
      headers: { origin: 'https://x.com' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.headers['access-control-allow-methods'], 'GET, PUT, POST, DELETE, PATCH, OPTIONS');
    assert.equal(
      res.headers['access-control-allow-headers'],
      'DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Authorization',
    );
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-max-age'], '1728000');
  });

  test('a preflight is answered 204 at the edge; the backend never sees it', async () => {
    const before = web.seen.length;
    const res = await request({
      port: t.dp.ports.http,
      host: 'cors.foo.com',
      method: 'OPTIONS',
      headers: { origin: 'https://x.com', 'access-control-request-method': 'PUT' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.equal(res.body, '');
    assert.equal(web.seen.length, before);
  });

  test('mirrors "should allow origin for cors" / "should not allow origin for cors": a listed origin is echoed, others get no CORS headers', async () => {
    const listed = await request({
      port: t.dp.ports.http,
      host: 'corslist.foo.com',
      headers: { origin: 'https://origin.cors.com:8080' },
    });
    assert.equal(listed.headers['access-control-allow-origin'], 'https://origin.cors.com:8080');
    assert.equal(listed.headers.vary, 'Origin');
    assert.equal(listed.headers['access-control-allow-credentials'], undefined);
    assert.equal(listed.headers['access-control-expose-headers'], 'X-CustomResponseHeader');
    assert.equal(listed.headers['access-control-max-age'], '200');
    const wild = await request({
      port: t.dp.ports.http,
      host: 'corslist.foo.com',
      headers: { origin: 'https://a.wild.com' },
    });
    assert.equal(wild.headers['access-control-allow-origin'], 'https://a.wild.com');
    for (const origin of [
      'https://origin.cors.com',
      'https://a.b.wild.com',
      'https://evilwild.com',
      'http://a.wild.com',
    ]) {
      const res = await request({ port: t.dp.ports.http, host: 'corslist.foo.com', headers: { origin } });
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
    }
    const preflight = await request({
      port: t.dp.ports.http,
      host: 'corslist.foo.com',
      method: 'OPTIONS',
      headers: { origin: 'https://evil.com' },
    });
    assert.equal(
      preflight.status,
      200,
      'an unlisted origin is not answered at the edge: the backend decides',
    );
  });
});
