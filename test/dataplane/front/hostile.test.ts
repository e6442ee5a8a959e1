import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { rawExchange } from '../helpers/raw.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/**
 * Issue 10, items 2, 4, 5 and 6 and Route.access, as an attacker sends them: exact bytes on a raw socket to the
 * plain listener. Each case failed on the code before decide() (tunnel opened, rule escaped, endpoint ejected).
 */
describe('hostile request targets, paths and upgrades', () => {
  let pub: TestBackend;
  let admin: TestBackend;
  let other: TestBackend;
  let app: TestBackend;
  let s0: TestBackend;
  let s1: TestBackend;
  let t: TestDataplane;
  const status = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);

  before(async () => {
    [pub, admin, other, app, s0, s1] = (await Promise.all(
      ['pub', 'admin', 'other', 'app', 's0', 's1'].map((id) => startBackend(id)),
    )) as [TestBackend, TestBackend, TestBackend, TestBackend, TestBackend, TestBackend];
    t = await startDataplane();
    t.dp.apply(
      buildSnapshot({
        hosts: [
          {
            hostname: 'plain.test',
            routes: [
              { path: '/', backend: 'pub' },
              { path: '/public', backend: 'pub' },
              // Only 10.9.9.9 may use /admin: the test client (127.0.0.1) must get 403 however it spells the path.
              { path: '/admin', backend: 'admin', access: { allow: ['10.9.9.9/32'], deny: [] } },
            ],
          },
          { hostname: 'other.test', routes: [{ path: '/', backend: 'other' }] },
          { hostname: 'secure.test', tls: true, routes: [{ path: '/', backend: 'app' }] },
          { hostname: 'sticky.test', routes: [{ path: '/', backend: 'sticky' }] },
        ],
        backends: [
          { id: 'pub', endpoints: [pub.port] },
          { id: 'admin', endpoints: [admin.port] },
          { id: 'other', endpoints: [other.port] },
          { id: 'app', endpoints: [app.port] },
          { id: 'sticky', endpoints: [s0.port, s1.port], affinity: {}, retries: 3 },
        ],
      }),
    );
  });

  after(async () => {
    await t.close();
    await closeAll([pub, admin, other, app, s0, s1]);
  });

  const send = (bytes: string) => rawExchange(t.dp.ports.http, bytes, /\r\n\r\n[\s\S]*$/);

  test('`OPTIONS *` x20: 400 each, no endpoint unhealthy, an affinity-pinned client stays on its endpoint', async () => {
    const first = await request({ port: t.dp.ports.http, host: 'sticky.test', path: '/' });
    assert.equal(first.status, 200);
    const cookie = String(first.headers['set-cookie']).split(';')[0] as string;
    const pinned = first.headers['x-backend-id'];
    for (let i = 0; i < 20; i++) {
      const raw = await rawExchange(
        t.dp.ports.http,
        'OPTIONS * HTTP/1.1\r\nHost: sticky.test\r\nConnection: close\r\n\r\n',
      );
      assert.equal(status(raw), 400, raw);
    }
    for (const e of t.dp.upstreams.endpoints())
      assert.ok(e.healthy && !e.ejected, `endpoint ${e.id} unhealthy`);
    for (let i = 0; i < 4; i++) {
      const again = await request({ port: t.dp.ports.http, host: 'sticky.test', headers: { cookie } });
      assert.equal(again.status, 200);
      assert.equal(again.headers['x-backend-id'], pinned);
      assert.equal(again.headers['set-cookie'], undefined);
    }
  });

  test('`GET /public/../admin` is matched as /admin: 403, never served by the /public rule', async () => {
    const before = pub.seen.length + admin.seen.length;
    const raw = await send('GET /public/../admin HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n');
    assert.equal(status(raw), 403, raw);
    assert.match(raw, /Forbidden/);
    assert.equal(pub.seen.length + admin.seen.length, before);
  });

  test('`GET /%2e%2e/admin` and `/%2E%2e/public/%2e%2E/admin` are matched as /admin: 403', async () => {
    const before = pub.seen.length + admin.seen.length;
    for (const target of ['/%2e%2e/admin', '/%2E%2e/public/%2e%2E/admin', '/public/%2e/../admin/']) {
      const raw = await send(`GET ${target} HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n`);
      assert.equal(status(raw), 403, `${target}: ${raw}`);
    }
    assert.equal(pub.seen.length + admin.seen.length, before);
  });

  test('a normalised path is what the backend receives; %2F and %5C inside a segment are refused', async () => {
    const raw = await send(
      'GET /public/./a/../%62%7e?q=%2e HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n',
    );
    assert.equal(status(raw), 200, raw);
    assert.equal(pub.seen.at(-1)?.url, '/public/b~?q=%2e');
    for (const target of ['/public%2F..%2Fadmin', '/public/..%5Cadmin', '/public\\..\\admin', '/a%zz']) {
      const bad = await send(`GET ${target} HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n`);
      assert.equal(status(bad), 400, `${target}: ${bad}`);
    }
  });

  test('`/.well-known/acme-challenge/../../x` over plain HTTP is redirected, not served', async () => {
    const before = app.seen.length;
    const raw = await send(
      'GET /.well-known/acme-challenge/../../x HTTP/1.1\r\nHost: secure.test\r\nConnection: close\r\n\r\n',
    );
    assert.equal(status(raw), 308, raw);
    assert.match(raw, new RegExp(`\\r\\nlocation: https://secure\\.test:${t.dp.ports.https}/x\\r\\n`, 'i'));
    assert.equal(app.seen.length, before);
  });

  test('absolute-form with a different Host: routed by the target authority, forwarded origin-form', async () => {
    const raw = await send(
      'GET http://other.test/x?y=1 HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n',
    );
    assert.equal(status(raw), 200, raw);
    const seen = other.seen.at(-1);
    assert.equal(seen?.url, '/x?y=1');
    assert.equal(seen?.headers.host, 'other.test');
    assert.equal(seen?.headers['x-forwarded-host'], 'other.test');
  });

  test('`Upgrade: h2c` is served as a plain request: no tunnel, Upgrade and nominated headers stripped', async () => {
    const raw = await send(
      'GET /h2c HTTP/1.1\r\nHost: plain.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
        'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
    );
    assert.equal(status(raw), 200, raw);
    const seen = pub.seen.at(-1);
    assert.equal(seen?.url, '/h2c');
    assert.equal(seen?.headers.upgrade, undefined);
    assert.equal(seen?.headers['http2-settings'], undefined);
  });

  test('`POST` with `Upgrade: websocket` is served as a plain request, never tunnelled', async () => {
    const raw = await send(
      'POST /ws HTTP/1.1\r\nHost: plain.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 2\r\n\r\nhi',
    );
    assert.equal(status(raw), 200, raw);
    const seen = pub.seen.at(-1);
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.headers.upgrade, undefined);
    assert.equal(pub.sockets, 0);
  });
});

describe('no new tunnel once draining has begun', () => {
  test('a WebSocket upgrade arriving after shutdown() started gets 503, not 101', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const b = await startBackend('b', (req, res) => {
      if (req.url !== '/slow') return false;
      void held.then(() => res.end('done'));
      return true;
    });
    const t = await startDataplane();
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'ws.test', routes: [{ path: '/', backend: 'b' }] }],
        backends: [{ id: 'b', endpoints: [b.port] }],
      }),
    );
    try {
      // A request in flight keeps the drain open; a second connection has started its upgrade head.
      const slow = request({ port: t.dp.ports.http, host: 'ws.test', path: '/slow' });
      while (b.seen.length === 0) await new Promise((r) => setTimeout(r, 10));
      const socket = connect(t.dp.ports.http, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        received += d;
      });
      const ended = new Promise((r) => socket.once('close', r));
      socket.on('error', () => {});
      socket.write('GET /chat HTTP/1.1\r\nHost: ws.test\r\n');
      await new Promise((r) => setTimeout(r, 50));
      const stopping = t.dp.shutdown({ drainTimeoutMs: 20_000 });
      assert.equal(t.dp.draining, true);
      socket.write(
        'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      );
      await ended;
      assert.match(received, /^HTTP\/1\.1 503 /, received);
      assert.equal(b.sockets, 0);
      release();
      assert.equal((await slow).status, 200);
      await stopping;
    } finally {
      release();
      await t.close();
      await b.close();
    }
  });
});
