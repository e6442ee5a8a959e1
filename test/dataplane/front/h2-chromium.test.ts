import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Server as SocketIoServer } from 'socket.io';
import type { RequestRecord } from '../../../src/dataplane/observe/observer.ts';
import { type BrowserSession, startBrowser } from '../helpers/browser.ts';
import { makeCert, type TestCert } from '../helpers/certs.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/**
 * Issue 16 item 4: socket.io from a real browser (Debian's Chromium, headless) over HTTP/2 through the proxy
 * (`--http2`), both transports, stays sticky. What is asserted is what the browser and the proxy saw: the
 * page's requests went over h2 (DevTools `Network.responseReceived` protocol, and the proxy's own record),
 * the WebSocket rode an RFC 8441 extended CONNECT stream on that h2 connection (a tunnel record with
 * protocol h2), and every message of one browser reached one backend of two.
 */

const HOST = 'chat.test';

/** The page the backends serve at `/`: loads the socket.io client from the backend, exposes runSession(). */
const PAGE = `<!doctype html>
<title>h2 socket.io</title>
<script src="/socket.io/socket.io.js"></script>
<script>
  // Connects with the given transports (undefined: socket.io's default, polling then upgrade), waits for
  // the upgrade when one is due, asks 'whoami' n times and returns the replies and the final transport.
  window.runSession = async (transports, n) => {
    const socket = io({ transports, reconnection: false, timeout: 10000 });
    const bounded = (p, what) => Promise.race([p, new Promise((_, no) => setTimeout(() => no(new Error(what)), 15000))]);
    await bounded(new Promise((ok, no) => { socket.once('connect', ok); socket.once('connect_error', no); }), 'no connect');
    const engine = socket.io.engine;
    if (transports === undefined && engine.transport.name !== 'websocket') {
      await bounded(new Promise((ok) => engine.once('upgrade', ok)), 'no upgrade to websocket');
    }
    const replies = [];
    for (let i = 0; i < n; i++) replies.push(await socket.timeout(10000).emitWithAck('whoami'));
    const transport = engine.transport.name;
    socket.disconnect();
    return { replies, transport };
  };
</script>`;

interface Reply {
  id: string;
  transport: string;
}

/** What PAGE defines on window. */
interface PageApi {
  runSession(
    transports: readonly string[] | undefined,
    n: number,
  ): Promise<{ replies: Reply[]; transport: string }>;
}

interface PageBackend {
  id: string;
  port: number;
  close(): Promise<void>;
}

/** An HTTP server serving PAGE at `/` and socket.io (client script included) under /socket.io/. */
async function startPageBackend(id: string): Promise<PageBackend> {
  const server: Server = createServer((req, res) => {
    res.writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/html', 'x-backend-id': id });
    res.end(req.url === '/' ? PAGE : '');
  });
  // socket.io puts its handler in front of the one above for /socket.io/ (and serves socket.io.js).
  const io = new SocketIoServer(server, { pingInterval: 60_000, pingTimeout: 60_000 });
  io.on('connection', (socket) => {
    socket.on('whoami', (ack: (r: Reply) => void) => ack({ id, transport: socket.conn.transport.name }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    id,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

/** Polls `check` every 20 ms, at most 10 s (the tunnel's close record follows the browser's disconnect). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`never happened: ${what}`);
}

describe('socket.io from Chromium over HTTP/2 (--http2): both transports stay sticky', () => {
  let cert: TestCert;
  let backends: PageBackend[];
  let t: TestDataplane;
  const records: RequestRecord[] = [];

  before(async () => {
    cert = await makeCert([HOST]);
    backends = await Promise.all(['pod-a', 'pod-b'].map(startPageBackend));
    t = await startDataplane({
      http2: true,
      observer: { onRequest: (r) => records.push({ ...r }), onTunnelClose: (r) => records.push({ ...r }) },
    });
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: HOST, tls: 'default/chat', routes: [{ backend: 'chat' }] }],
        backends: [
          { id: 'chat', endpoints: backends.map((b) => ({ port: b.port, id: b.id })), affinity: {} },
        ],
        certificates: [{ id: 'default/chat', ...cert }],
      }),
    );
  });
  after(async () => {
    await t.close();
    await Promise.all(backends.map((b) => b.close()));
  });

  /**
   * One browser (own process and cookie jar): loads the page over h2, runs one socket.io session, closes.
   * Returns the replies, the protocols DevTools saw per response, and the proxy's records of the session.
   */
  const browse = async (transports: string[] | undefined) => {
    const browser: BrowserSession = await startBrowser({ hosts: [HOST], pinnedCertPem: cert.certPem });
    try {
      const page = await browser.context.newPage();
      const cdp = await browser.context.newCDPSession(page);
      const protocols: { url: string; protocol: string }[] = [];
      cdp.on('Network.responseReceived', (e) =>
        protocols.push({ url: e.response.url, protocol: String(e.response.protocol) }),
      );
      await cdp.send('Network.enable');
      const from = records.length;
      const nav = await page.goto(`https://${HOST}:${t.dp.ports.https}/`);
      assert.equal(nav?.status(), 200);
      const result = await page.evaluate(([tr, n]) => (globalThis as unknown as PageApi).runSession(tr, n), [
        transports,
        5,
      ] as const);
      return { ...result, protocols, pageBackend: nav?.headers()['x-backend-id'], from };
    } finally {
      await browser.close();
    }
  };

  test('polling only: the page and every poll go over h2, every message reaches one backend', async () => {
    const s = await browse(['polling']);
    assert.equal(s.transport, 'polling');
    assert.equal(s.replies.length, 5);
    assert.deepEqual(
      new Set(s.replies.map((r) => r.id)),
      new Set([s.pageBackend]),
      'one backend for the session',
    );
    assert.ok(s.replies.every((r) => r.transport === 'polling'));
    const polls = s.protocols.filter((p) => p.url.includes('/socket.io/?'));
    assert.ok(polls.length >= 3, `the browser polled (${polls.length} responses)`);
    assert.deepEqual(new Set(s.protocols.map((p) => p.protocol)), new Set(['h2']), 'Chromium saw h2 only');
    const mine = records.slice(s.from).filter((r) => r.path.startsWith('/socket.io/'));
    assert.ok(mine.length >= 3);
    assert.ok(mine.every((r) => r.protocol === 'h2' && r.endpointId === s.pageBackend));
  });

  test('default transports: polling, then the upgrade rides RFC 8441 extended CONNECT on the h2 connection', async () => {
    const s = await browse(undefined);
    assert.equal(s.transport, 'websocket', 'socket.io upgraded');
    assert.deepEqual(
      new Set(s.replies.map((r) => r.id)),
      new Set([s.pageBackend]),
      'one backend for the session',
    );
    assert.ok(
      s.replies.every((r) => r.transport === 'websocket'),
      'the messages went over the WebSocket',
    );
    // The tunnel's record arrives when the browser's disconnect closes the stream.
    await eventually(() => records.slice(s.from).some((r) => r.tunnel), 'the tunnel closed');
    const tunnels = records.slice(s.from).filter((r) => r.tunnel);
    assert.equal(tunnels.length, 1);
    assert.equal(
      tunnels[0]?.protocol,
      'h2',
      'the WebSocket was an extended CONNECT stream (RFC 8441), not HTTP/1.1',
    );
    assert.equal(tunnels[0]?.status, 101);
    assert.equal(tunnels[0]?.endpointId, s.pageBackend);
    assert.ok(
      records.slice(s.from).every((r) => r.protocol === 'h2'),
      'no HTTP/1.1 connection at all',
    );
  });

  test("websocket only: the WebSocket opens on the page's h2 connection too", async () => {
    const s = await browse(['websocket']);
    assert.equal(s.transport, 'websocket');
    assert.deepEqual(new Set(s.replies.map((r) => r.id)), new Set([s.pageBackend]));
    await eventually(() => records.slice(s.from).some((r) => r.tunnel), 'the tunnel closed');
    assert.ok(records.slice(s.from).every((r) => r.protocol === 'h2'));
  });

  test('two browsers (two cookie jars) land on different backends: affinity, not a single backend', async () => {
    const seen = new Set<string>();
    // Round-robin picks the next endpoint for a browser without a cookie; at most 4 browsers to see both.
    for (let i = 0; i < 4 && seen.size < 2; i++) {
      const s = await browse(undefined);
      const ids = new Set(s.replies.map((r) => r.id));
      assert.equal(ids.size, 1, `browser ${i}: one backend per session`);
      seen.add(s.replies[0]?.id ?? '');
    }
    assert.deepEqual(seen, new Set(['pod-a', 'pod-b']));
  });
});
