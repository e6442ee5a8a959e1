import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { RequestRecord } from '../../../src/dataplane/observe/observer.ts';
import { makeCert } from '../helpers/certs.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { rawExchange } from '../helpers/raw.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { startObserved } from '../observe/harness.ts';

/** A keep-alive HTTPS backend that terminates TLS itself and answers `pt`. */
async function tlsBackend(): Promise<{ server: HttpsServer; port: number }> {
  const cert = await makeCert(['pass.test'], 'pt-backend');
  const server = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('pt'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A TLS connection through passthrough, left open after one answered request; rejects if refused. */
function openRelay(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: 'pass.test',
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => socket.write('GET / HTTP/1.1\r\nHost: pass.test\r\n\r\n'));
    socket.setEncoding('utf8');
    socket.once('data', (d: string) => (/^HTTP\/1\.1 200 /.test(d) ? resolve(socket) : reject(new Error(d))));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before an answer')));
  });
}

const snapshot = (port: number) =>
  buildSnapshot({
    hosts: [
      { hostname: 'pass.test', passthrough: 'pt', routes: [{ backend: 'pt' }] },
      { hostname: 'ws.test', routes: [{ backend: 'pt', redirect: { sslRedirect: false } }] },
    ],
    backends: [{ id: 'pt', endpoints: [port] }],
  });

describe('passthrough relays: --max-tunnels and the access log', () => {
  let backend: { server: HttpsServer; port: number };

  before(async () => {
    backend = await tlsBackend();
  });
  after(async () => {
    backend.server.closeAllConnections();
    await new Promise((r) => backend.server.close(r));
  });

  test('relays and WebSocket tunnels share --max-tunnels: over it a relay is closed, an upgrade gets 503', async () => {
    const closed: RequestRecord[] = [];
    const rejected: string[] = [];
    const t: TestDataplane = await startDataplane({
      maxTunnels: 2,
      observer: {
        onRequest: () => {},
        onTunnelClose: () => {},
        onRejected: (reason) => rejected.push(reason),
        onRelayClose: (r) => closed.push(r),
      },
    });
    try {
      t.dp.apply(snapshot(backend.port));
      const a = await openRelay(t.dp.ports.https);
      const b = await openRelay(t.dp.ports.https);
      await assert.rejects(openRelay(t.dp.ports.https), 'a third relay is refused');
      const upgrade = await rawExchange(
        t.dp.ports.http,
        'GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      assert.match(upgrade, /^HTTP\/1\.1 503 /);
      assert.deepEqual(rejected, ['tunnels', 'tunnels']);
      // One relay ends: its slot is free again (the close is reported once the relay let go of it).
      a.destroy();
      for (let i = 0; i < 200 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(closed.length, 1);
      const c = await openRelay(t.dp.ports.https);
      b.destroy();
      c.destroy();
    } finally {
      await t.close();
    }
  });

  test('one access-log line per relay: SNI, endpoint, bytes both ways, duration', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    const o = await startObserved({ accessLog: { destination: stream } });
    try {
      o.dp.apply(snapshot(backend.port));
      const s = await openRelay(o.dp.ports.https);
      await new Promise<void>((r) => {
        s.once('close', () => r());
        s.end();
      });
    } finally {
      await o.close();
    }
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const line = lines[0] as Record<string, unknown>;
    assert.equal(line.host, 'pass.test');
    assert.equal(line.sni, 'pass.test');
    assert.equal(line.status, 200);
    assert.equal(line.tunnel, true);
    assert.equal(line.backend, 'pt');
    assert.equal(line.endpoint, `127.0.0.1:${backend.port}`);
    assert.equal(line.client, '127.0.0.1');
    // The ClientHello and the request went in, the server's handshake and the answer came out.
    assert.ok((line.bytesIn as number) > 200, `bytesIn ${line.bytesIn}`);
    assert.ok((line.bytesOut as number) > 200, `bytesOut ${line.bytesOut}`);
    assert.ok((line.totalMs as number) >= (line.connectMs as number));
  });
});
