import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { RequestRecord } from '../../../src/dataplane/observe/observer.ts';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { rawExchange } from '../helpers/raw.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { closed, echo, openWebSocket } from '../helpers/ws.ts';

/** A port nothing listens on: bind, read the port, close. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A test upstream that is not a WebSocket endpoint; `stop()` also ends sockets taken over by 'upgrade'. */
interface PlainServer {
  port: number;
  stop(): Promise<void>;
}

/**
 * Answers every request (Upgrade included) with 426 and a body, keeping the connection; with `stall`, accepts
 * Upgrade requests and never answers them.
 */
async function startPlainServer(stall = false): Promise<PlainServer> {
  const server = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', 'x-from': 'plain' });
    res.end('use websocket elsewhere\n');
  });
  const taken = new Set<Duplex>();
  if (stall) server.on('upgrade', (_req, socket: Duplex) => taken.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    stop: async () => {
      for (const s of taken) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('WebSocket upgrades: retries, forwarded headers, answers other than 101', () => {
  let live: TestBackend;
  let plain: PlainServer;
  let stalled: PlainServer;
  let dead: number;
  let t: TestDataplane;
  const events = new EventEmitter();
  /** Resolves with the record of the next tunnel to `host` that closes (reported on the client's 'close'). */
  const nextTunnel = async (host: string) => {
    for (;;) {
      const [r] = (await once(events, 'tunnel')) as [RequestRecord];
      if (r.host === host) return r;
    }
  };
  const failures: string[] = [];
  const retries: string[] = [];

  before(async () => {
    live = await startBackend('live');
    plain = await startPlainServer();
    stalled = await startPlainServer(true);
    dead = await closedPort();
    t = await startDataplane({
      observer: {
        onRequest: () => {},
        onTunnelClose: (r: RequestRecord) => {
          events.emit('tunnel', { ...r });
        },
        onConnectFailure: (_b, e) => failures.push(e),
        onRetry: (_b, e) => retries.push(e),
      },
    });
    t.dp.apply(
      buildSnapshot(
        {
          hosts: [
            { hostname: 'retry.test', routes: [{ backend: 'r' }] },
            { hostname: 'sticky.test', routes: [{ backend: 's' }] },
            { hostname: 'dead.test', routes: [{ backend: 'd' }] },
            { hostname: 'plain.test', routes: [{ backend: 'p' }] },
            { hostname: 'stalled.test', routes: [{ backend: 'st' }] },
          ],
          backends: [
            { id: 'r', endpoints: [dead, live.port], retries: 1 },
            { id: 's', endpoints: [dead, live.port], retries: 1, affinity: {} },
            { id: 'd', endpoints: [dead], retries: 2 },
            { id: 'p', endpoints: [plain.port] },
            { id: 'st', endpoints: [stalled.port], timeouts: { readMs: 200 } },
          ],
        },
        1,
      ),
    );
  });
  after(async () => {
    await t.close();
    await closeAll([live]);
    await plain.stop();
    await stalled.stop();
  });

  const endpoint = (port: number) =>
    [...t.dp.upstreams.endpoints()].find((e) => e.id === `127.0.0.1:${port}`);

  test('a refused connect moves the upgrade to the other endpoint: every WebSocket opens', async () => {
    const url = `ws://127.0.0.1:${t.dp.ports.http}/chat`;
    for (let i = 0; i < 6; i++) {
      const s = await openWebSocket(url, 'retry.test');
      assert.equal(s.upgrade.headers['x-backend-id'], 'live');
      assert.equal(await echo(s.ws, `m${i}`), `live:m${i}`);
      s.ws.close();
      await closed(s.ws);
    }
    const deadId = `127.0.0.1:${dead}`;
    assert.ok(failures.includes(deadId), 'the refused connect is reported');
    assert.ok(retries.includes(`127.0.0.1:${live.port}`), 'the retry names the endpoint it moved to');
    const deadState = endpoint(dead);
    assert.ok(deadState && deadState.failures >= 1 && deadState.active === 0);
  });

  test('with affinity, the 101 after a retry pins the client to the endpoint that answered', async () => {
    const url = `ws://127.0.0.1:${t.dp.ports.http}/`;
    for (let i = 0; i < 4; i++) {
      const first = await openWebSocket(url, 'sticky.test');
      const setCookie = first.upgrade.headers['set-cookie']?.[0];
      assert.ok(setCookie, 'the 101 carries the affinity cookie');
      first.ws.close();
      await closed(first.ws);
      const again = await openWebSocket(url, 'sticky.test', { cookie: setCookie.split(';')[0] as string });
      assert.equal(again.upgrade.headers['x-backend-id'], 'live');
      assert.equal(again.upgrade.headers['set-cookie'], undefined, 'a valid cookie is not reissued');
      again.ws.close();
      await closed(again.ws);
    }
  });

  test('no endpoint left to try: 502 on the raw socket, reported as a closed tunnel with status 502', async () => {
    const reported = nextTunnel('dead.test');
    await assert.rejects(
      openWebSocket(`ws://127.0.0.1:${t.dp.ports.http}/`, 'dead.test'),
      /unexpected response 502/,
    );
    const r = await reported;
    assert.deepEqual(
      { status: r.status, tunnel: r.tunnel, retries: r.retries },
      {
        status: 502,
        tunnel: true,
        retries: 0,
      },
    );
    assert.equal(endpoint(dead)?.active, 0);
  });

  test('an upstream answering without 101 is relayed with its body, then the connection closes', async () => {
    const reported = nextTunnel('plain.test');
    const text = await rawExchange(
      t.dp.ports.http,
      'GET /x HTTP/1.1\r\nHost: plain.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.match(text, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
    assert.match(text, /\r\nx-from: plain\r\n/i);
    assert.match(text, /\r\nconnection: close\r\n/);
    assert.ok(text.endsWith('\r\n\r\nuse websocket elsewhere\n'));
    assert.equal((await reported).status, 426);
    assert.equal(endpoint(plain.port)?.active, 0);
  });

  test('an upstream that accepts but never answers the upgrade gets 504 after readMs, without a retry', async () => {
    const reported = nextTunnel('stalled.test');
    await assert.rejects(
      openWebSocket(`ws://127.0.0.1:${t.dp.ports.http}/`, 'stalled.test'),
      /unexpected response 504/,
    );
    const r = await reported;
    assert.deepEqual({ status: r.status, retries: r.retries }, { status: 504, retries: 0 });
    assert.equal(endpoint(stalled.port)?.failures, 0, 'a slow answer is not a connect failure');
  });

  test('the upstream sees the Host, X-Forwarded-* set by the proxy (spoofed ones replaced), no hop-by-hop', async () => {
    const s = await openWebSocket(`ws://127.0.0.1:${t.dp.ports.http}/fwd?q=1`, 'retry.test', {
      'x-forwarded-for': '6.6.6.6',
      'keep-alive': 'timeout=5',
    });
    const seen = live.seen.findLast((r) => r.url === '/fwd?q=1');
    assert.ok(seen);
    assert.equal(seen.method, 'GET');
    assert.equal(seen.headers.host, 'retry.test');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'retry.test');
    assert.equal(seen.headers.connection, 'Upgrade');
    assert.equal(seen.headers.upgrade, 'websocket');
    assert.equal(seen.headers['keep-alive'], undefined);
    s.ws.close();
    await closed(s.ws);
  });
});
