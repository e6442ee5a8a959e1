import assert from 'node:assert/strict';
import { type ClientHttp2Session, connect as connectH2 } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import type { RequestRecord } from '../../../src/dataplane/observe/observer.ts';
import {
  closeAll,
  type SocketIoBackend,
  startBackends,
  startSocketIoBackends,
  type TestBackend,
} from '../helpers/backends.ts';
import { json, peerCertificate, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import {
  FLAG,
  FRAME,
  frame,
  getBlock,
  h2Request,
  h2Session,
  literal,
  PREFACE,
  rawH2,
} from '../helpers/h2.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

const SIO = '/socket.io/?EIO=4&transport=polling';

/** A masked client text frame (RFC 6455 5.2), payload < 126 bytes. */
function wsFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = payload.map((b, i) => b ^ (mask[i % 4] as number));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** Waits for one unmasked server text frame in `chunks` (consumed), payload < 126 bytes. */
async function nextText(chunks: Buffer[], stream: { once(e: 'data', f: () => void): void }): Promise<string> {
  for (;;) {
    const all = Buffer.concat(chunks);
    if (all.length >= 2 && all.length >= 2 + ((all[1] as number) & 0x7f)) {
      const len = (all[1] as number) & 0x7f;
      chunks.splice(0, chunks.length, all.subarray(2 + len));
      return all.subarray(2, 2 + len).toString();
    }
    await new Promise<void>((r) => stream.once('data', () => r()));
  }
}

describe('HTTP/2 for clients (--http2): one request path, HTTP/1.1 upstream', () => {
  let backends: TestBackend[];
  let sio: SocketIoBackend[];
  let t: TestDataplane;
  const sessions: ClientHttp2Session[] = [];
  const records: RequestRecord[] = [];

  const session = async () => {
    const s = await h2Session(t.dp.ports.https, 'app.test');
    sessions.push(s);
    return s;
  };

  before(async () => {
    backends = await startBackends(2, (req, res, id) => {
      if (req.url !== '/cookies') return false;
      // Two Set-Cookie fields and connection-specific fields an h2 response must not carry (RFC 9113 8.2.2).
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.setHeader('connection', 'x-private, keep-alive');
      res.setHeader('x-private', 'hop');
      res.setHeader('keep-alive', 'timeout=5');
      res.setHeader('http2-settings', 'AAMAAABkAAQAoAAAAAIAAAAA');
      res.setHeader('x-backend-id', id);
      res.end('ok');
      return true;
    });
    sio = await startSocketIoBackends(3);
    t = await startDataplane({
      http2: true,
      observer: { onRequest: (r) => records.push({ ...r }), onTunnelClose: (r) => records.push({ ...r }) },
    });
    t.dp.apply(
      buildSnapshot({
        hosts: [
          { hostname: 'app.test', tls: true, routes: [{ backend: 'web' }] },
          { hostname: 'sio.test', tls: true, routes: [{ backend: 'sio' }] },
        ],
        backends: [
          { id: 'web', endpoints: backends.map((b) => b.port), affinity: {} },
          {
            id: 'sio',
            endpoints: sio.map((b) => ({ port: b.port, id: b.id })),
            affinity: { socketio: true, changeOnFailure: false },
          },
        ],
      }),
    );
  });
  after(async () => {
    for (const s of sessions) s.destroy();
    await t.close();
    await closeAll([...backends, ...sio]);
  });

  test('ALPN offers h2 then http/1.1; an HTTP/1.1 client on the same listener is served as before', async () => {
    assert.equal((await peerCertificate(t.dp.ports.https, 'app.test')).alpn, 'h2');
    const res = await request({ port: t.dp.ports.https, secure: true, host: 'app.test', path: '/h1' });
    assert.equal(res.status, 200);
    assert.equal(json(res).url, '/h1');
    assert.equal(records.find((x) => x.path === '/h1')?.protocol, 'h1');
  });

  test(':authority is the host; the backend gets HTTP/1.1 with Host, forwarded headers and no pseudo-header', async () => {
    const s = await session();
    const res = await h2Request(s, { ':path': '/x?q=1', ':authority': 'app.test' });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/x?q=1');
    assert.equal(seen.headers.host, 'app.test');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-host'], 'app.test');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.deepEqual(
      Object.keys(seen.headers).filter((n) => n.startsWith(':')),
      [],
    );
    // The same access-log record as HTTP/1.1: route, status, TLS version.
    const r = records.find((x) => x.path === '/x');
    assert.equal(r?.status, 200);
    assert.equal(r?.host, 'app.test');
    assert.match(r?.tlsVersion ?? '', /^TLSv1\.[23]$/);
    assert.equal(r?.protocol, 'h2');
  });

  test('an HTTP/1.1 request line claiming HTTP/2.0 is still an HTTP/1.1 request (no h2 code path, no crash)', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = netConnect(t.dp.ports.http, '127.0.0.1');
      let got = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        got += d;
      });
      socket.once('close', () => resolve(got));
      socket.once('error', reject);
      socket.write('POST /v2 HTTP/2.0\r\nHost: app.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
    });
    assert.match(answer, /^HTTP\/1\.1 /);
    const again = await request({
      port: t.dp.ports.https,
      secure: true,
      host: 'app.test',
      path: '/after-v2',
    });
    assert.equal(again.status, 200);
  });

  test('Host that disagrees with :authority is a malformed request: 400, nothing reaches a backend', async () => {
    const before = backends.reduce((n, b) => n + b.seen.length, 0);
    const s = await session();
    const bad = await h2Request(s, { ':path': '/smuggle', ':authority': 'app.test', host: 'other.test' });
    assert.equal(bad.status, 400);
    const same = await h2Request(s, { ':path': '/agree', ':authority': 'app.test', host: 'APP.test' });
    assert.equal(same.status, 200);
    assert.equal(
      backends.reduce((n, b) => n + b.seen.length, 0),
      before + 1,
    );
  });

  test('cookies split across fields are joined with "; " before affinity reads them (RFC 9113 8.2.3)', async () => {
    const s = await session();
    const first = await h2Request(s, { ':path': '/pin', ':authority': 'app.test' });
    const setCookie = first.headers['set-cookie'] as string[];
    const route = setCookie.find((c) => c.startsWith('route='))?.split(';')[0] as string;
    assert.ok(route, 'affinity cookie issued over h2');
    const pinned = first.headers['x-backend-id'];
    for (let i = 0; i < 6; i++) {
      const res = await h2Request(s, {
        ':path': '/pin',
        ':authority': 'app.test',
        cookie: ['x=1', route, 'y=2'],
      });
      assert.equal(res.headers['x-backend-id'], pinned);
      assert.equal(res.headers['set-cookie'], undefined, 'a valid cookie is not reissued');
      assert.equal(
        (JSON.parse(res.body) as { headers: { cookie: string } }).headers.cookie,
        `x=1; ${route}; y=2`,
      );
    }
  });

  test('Set-Cookie fields stay separate; connection-specific response fields are dropped', async () => {
    const s = await session();
    const res = await h2Request(s, { ':path': '/cookies', ':authority': 'app.test' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok');
    const cookies = res.raw.filter((_, i) => i % 2 === 0 && res.raw[i] === 'set-cookie').length;
    // The backend's two, plus the affinity cookie of this first visit.
    assert.equal(cookies, 3);
    for (const name of ['connection', 'keep-alive', 'x-private', 'http2-settings']) {
      assert.equal(res.headers[name], undefined, name);
    }
  });

  test('a request body without content-length (DATA frames only) reaches the backend', async () => {
    const s = await session();
    const res = await h2Request(
      s,
      { ':method': 'POST', ':path': '/upload', ':authority': 'app.test' },
      'hello h2',
    );
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as { method: string; body: string };
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body, 'hello h2');
  });

  test('a request carrying a connection-specific field is reset, never forwarded (RFC 9113 8.2.2)', async () => {
    const before = backends.reduce((n, b) => n + b.seen.length, 0);
    const raw = await rawH2(t.dp.ports.https, 'app.test');
    const block = Buffer.concat([getBlock('app.test'), literal('connection', 'keep-alive')]);
    raw.socket.write(
      Buffer.concat([PREFACE, frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, block)]),
    );
    const s = await session();
    // A request after it on another connection is answered: by then the bad one was handled.
    assert.equal((await h2Request(s, { ':path': '/after', ':authority': 'app.test' })).status, 200);
    while (raw.resets === 0 && raw.goaway === undefined && !raw.socket.destroyed) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(raw.resets > 0 || raw.goaway !== undefined, 'the malformed stream is refused');
    assert.equal(
      backends.reduce((n, b) => n + b.seen.length, 0),
      before + 1,
    );
    raw.socket.destroy();
  });

  test('socket.io polling over h2 stays sticky: handshake, then later polls with the cookie', async () => {
    const s = await h2Session(t.dp.ports.https, 'sio.test');
    sessions.push(s);
    for (let round = 0; round < 3; round++) {
      const hs = await h2Request(s, { ':path': SIO, ':authority': 'sio.test' });
      assert.equal(hs.status, 200);
      const sid = (JSON.parse(hs.body.slice(1)) as { sid: string }).sid;
      const cookie = (hs.headers['set-cookie'] as string[])[0]?.split(';')[0] as string;
      const id = hs.headers['x-backend-id'];
      const path = `${SIO}&sid=${encodeURIComponent(sid)}`;
      const open = await h2Request(
        s,
        { ':method': 'POST', ':path': path, ':authority': 'sio.test', cookie },
        '40',
      );
      assert.equal(open.status, 200);
      assert.equal(open.headers['x-backend-id'], id);
      const poll = await h2Request(s, { ':path': path, ':authority': 'sio.test', cookie });
      assert.equal(poll.status, 200, poll.body);
      assert.equal(poll.headers['x-backend-id'], id);
      assert.match(poll.body, /^40/);
    }
  });

  test('WebSocket over h2 (RFC 8441): extended CONNECT advertised, relayed to a ws backend as an HTTP/1.1 Upgrade', async () => {
    const s = await session();
    assert.equal(s.remoteSettings.enableConnectProtocol, true);
    const before = backends.reduce((n, b) => n + b.sockets, 0);
    const stream = s.request({
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':scheme': 'https',
      ':path': '/chat',
      ':authority': 'app.test',
      'sec-websocket-version': '13',
    });
    const response = await new Promise<Record<string, unknown>>((resolve) =>
      stream.once('response', resolve),
    );
    assert.equal(response[':status'], 200);
    assert.equal(response['sec-websocket-accept'], undefined);
    assert.equal(response.upgrade, undefined);
    assert.match(String(response['set-cookie']), /^route=/, 'the affinity cookie rides on the 200');
    const id = String(response['x-backend-id']);
    const frames: Buffer[] = [];
    stream.on('data', (d: Buffer) => frames.push(d));
    for (const text of ['one', 'two']) {
      stream.write(wsFrame(text));
      const echoed = await nextText(frames, stream);
      assert.equal(echoed, `${id}:${text}`);
    }
    assert.equal(
      backends.reduce((n, b) => n + b.sockets, 0),
      before + 1,
    );
    const closed = new Promise((r) => stream.once('close', r));
    stream.close();
    await closed;
    while (backends.reduce((n, b) => n + b.sockets, 0) !== before)
      await new Promise((r) => setTimeout(r, 10));
    const r = records.find((x) => x.tunnel && x.path === '/chat');
    assert.equal(r?.status, 101);
    assert.equal(r?.protocol, 'h2');
  });

  test('extended CONNECT retries a dead endpoint like any WebSocket: every tunnel opens', async () => {
    const d = await startDataplane({ http2: true });
    const dead = (await startBackends(1))[0] as TestBackend;
    const deadPort = dead.port;
    await dead.close();
    d.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'app.test', tls: true, routes: [{ backend: 'web' }] }],
        backends: [{ id: 'web', endpoints: [deadPort, (backends[0] as TestBackend).port], retries: 1 }],
      }),
    );
    const s = await h2Session(d.dp.ports.https, 'app.test');
    for (let i = 0; i < 4; i++) {
      const st = s.request({
        ':method': 'CONNECT',
        ':protocol': 'websocket',
        ':scheme': 'https',
        ':path': '/r',
        ':authority': 'app.test',
        'sec-websocket-version': '13',
      });
      const h = await new Promise<Record<string, unknown>>((r) => st.once('response', r));
      assert.equal(h[':status'], 200);
      assert.equal(h['x-backend-id'], 'b0');
      st.close();
    }
    s.destroy();
    await d.close();
  });

  test('extended CONNECT takes the upgrade decision: unknown host 404, classic CONNECT 405', async () => {
    const s = await session();
    const answer = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const st = s.request(headers);
        st.once('response', (h) => resolve(Number(h[':status'])));
        st.once('error', reject);
        st.resume();
      });
    const ws = { ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': '/' };
    assert.equal(await answer({ ...ws, ':authority': 'nobody.test' }), 404);
    assert.equal(await answer({ ':method': 'CONNECT', ':authority': 'app.test:443' }), 405);
  });

  test('WebSockets over HTTP/1.1 on the same listener still work', async () => {
    // ws hands its options to https.request, which takes servername (SNI); its own type omits it.
    const options: WebSocket.ClientOptions & { servername: string } = {
      headers: { host: 'app.test' },
      servername: 'app.test',
      rejectUnauthorized: false,
    };
    const ws = new WebSocket(`wss://127.0.0.1:${t.dp.ports.https}/ws`, options);
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hi'));
      ws.once('message', (d) => resolve(String(d)));
      ws.once('error', reject);
    });
    assert.match(echoed, /^b[01]:hi$/);
    ws.close();
  });

  test('behind PROXY protocol and the passthrough peek, h2 sees the carried client address', async () => {
    const d = await startDataplane({
      http2: true,
      proxyProtocol: { https: 'strict' },
      proxyProtocolTrusted: ['127.0.0.0/8'],
    });
    d.dp.apply(
      buildSnapshot({
        hosts: [
          { hostname: 'app.test', tls: true, routes: [{ backend: 'web' }] },
          // A passthrough host makes the listener peek at every ClientHello before TLS.
          { hostname: 'pt.test', routes: [{ backend: 'web' }], passthrough: 'web' },
        ],
        backends: [{ id: 'web', endpoints: [(backends[0] as TestBackend).port] }],
      }),
    );
    const port = d.dp.ports.https;
    // The header goes first on the connected TCP socket, then TLS (and ALPN h2) runs over it.
    const raw = netConnect(port, '127.0.0.1');
    await new Promise((r) => raw.once('connect', r));
    raw.write('PROXY TCP4 203.0.113.9 10.0.0.1 5555 443\r\n');
    const s = connectH2(`https://127.0.0.1:${port}`, {
      createConnection: () =>
        tlsConnect({ socket: raw, servername: 'app.test', ALPNProtocols: ['h2'], rejectUnauthorized: false }),
    });
    const res = await h2Request(s, { ':path': '/proxied', ':authority': 'app.test' });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9');
    s.destroy();
    await d.close();
  });

  test('shutdown sends GOAWAY: the in-flight request completes, the session ends', async () => {
    const slow = await startBackends(1, (req, res) => {
      if (req.url !== '/slow') return false;
      setTimeout(() => res.end('late'), 200);
      return true;
    });
    const d = await startDataplane({ http2: true });
    d.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'app.test', tls: true, routes: [{ backend: 'web' }] }],
        backends: [{ id: 'web', endpoints: [(slow[0] as TestBackend).port] }],
      }),
    );
    const s = await h2Session(d.dp.ports.https, 'app.test');
    const goaway = new Promise<void>((r) => s.once('goaway', () => r()));
    const inflight = h2Request(s, { ':path': '/slow', ':authority': 'app.test' });
    while ((slow[0] as TestBackend).seen.length === 0) await new Promise((r) => setTimeout(r, 10));
    const stopped = d.dp.shutdown({ drainTimeoutMs: 5_000 });
    await goaway;
    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'late');
    await stopped;
    s.destroy();
    await closeAll(slow);
  });
});
