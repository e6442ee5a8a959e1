import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import type { DataplaneObserver, RejectReason } from '../../../src/dataplane/observe/observer.ts';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

const UPGRADE =
  'GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

/** A raw client that sends `payload` and resolves with the first response head (or '' if closed first). */
function open(port: number, payload: string): Promise<{ socket: Socket; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(payload));
    let got = '';
    const done = () => resolve({ socket, head: got });
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) done();
    });
    socket.once('close', done);
    socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? done() : reject(err)));
  });
}

function counting(): { observer: DataplaneObserver; rejected: Record<RejectReason, number> } {
  const rejected = { client_connections: 0, tunnels: 0 };
  return {
    rejected,
    observer: { onRequest() {}, onTunnelClose() {}, onRejected: (r) => rejected[r]++ },
  };
}

describe('caps on connections and tunnels', () => {
  let t: TestDataplane | undefined;
  let backends: TestBackend[] = [];
  const sockets: Socket[] = [];
  const servers: Server[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await t?.close();
    t = undefined;
    await closeAll(backends.splice(0));
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  async function start(options: Parameters<typeof startDataplane>[0], endpoint?: number) {
    if (endpoint === undefined) {
      backends = await startBackends(1);
      endpoint = (backends[0] as TestBackend).port;
    }
    t = await startDataplane(options);
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'app.test', routes: [{ backend: 'web' }] }],
        backends: [{ id: 'web', endpoints: [endpoint] }],
      }),
    );
    return t.dp;
  }

  test('max client connections: the one over the cap is closed with no response, counted', async () => {
    const { observer, rejected } = counting();
    const dp = await start({ maxClientConnections: 2, observer });
    const keepAlive = 'GET / HTTP/1.1\r\nHost: app.test\r\n\r\n';
    for (let i = 0; i < 2; i++) {
      const c = await open(dp.ports.http, keepAlive);
      sockets.push(c.socket);
      assert.match(c.head, /^HTTP\/1\.1 200 /);
    }
    const third = await open(dp.ports.http, keepAlive);
    sockets.push(third.socket);
    assert.equal(third.head, '');
    assert.equal(rejected.client_connections, 1);
    // Once a connection closes, a new one is served again.
    sockets.shift()?.destroy();
    let served = '';
    for (let i = 0; i < 50 && !served.startsWith('HTTP/1.1 200'); i++) {
      const c = await open(dp.ports.http, keepAlive);
      sockets.push(c.socket);
      served = c.head;
    }
    assert.match(served, /^HTTP\/1\.1 200 /);
  });

  test('max tunnels: the upgrade over the cap gets 503, counted; plain requests still pass', async () => {
    const { observer, rejected } = counting();
    const dp = await start({ maxTunnels: 1, observer });
    const first = await open(dp.ports.http, UPGRADE);
    sockets.push(first.socket);
    assert.match(first.head, /^HTTP\/1\.1 101 /);
    const second = await open(dp.ports.http, UPGRADE);
    sockets.push(second.socket);
    assert.match(second.head, /^HTTP\/1\.1 503 /);
    assert.equal(rejected.tunnels, 1);
    assert.equal((await request({ port: dp.ports.http, host: 'app.test' })).status, 200);
  });

  test('max upstream connections per endpoint: concurrent requests share the capped connections', async () => {
    // The endpoint holds each request until three have arrived or 2 s passed, and counts its connections.
    let connections = 0;
    const waiting: (() => void)[] = [];
    const server = createServer((_req, res) => {
      waiting.push(() => res.end('ok'));
      if (waiting.length >= 3) for (const w of waiting.splice(0)) w();
      else setTimeout(() => waiting.shift()?.(), 2_000).unref();
    });
    server.on('connection', () => connections++);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dp = await start({ maxUpstreamConnections: 1 }, (server.address() as AddressInfo).port);
    const answers = await Promise.all(
      [1, 2, 3].map(() => request({ port: dp.ports.http, host: 'app.test' })),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200],
    );
    assert.equal(connections, 1);
  });
});
