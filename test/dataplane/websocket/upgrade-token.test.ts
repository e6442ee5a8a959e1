import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { rawExchange } from '../helpers/raw.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/**
 * A tunnel is opened only as WebSocket, so only the WebSocket token may reach the backend: a client's
 * `Upgrade: websocket, h2c` must not let the backend switch the tunnel to h2c (the h2c-smuggling class).
 */
describe('the Upgrade header a backend sees on a tunnel', () => {
  const seen: (string | undefined)[] = [];
  const server = createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    seen.push(req.headers.upgrade);
    socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  });
  let t: TestDataplane;

  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t = await startDataplane();
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'ws.test', routes: [{ path: '/', backend: 'b' }] }],
        backends: [{ id: 'b', endpoints: [(server.address() as AddressInfo).port] }],
      }),
    );
  });
  after(async () => {
    await t.close();
    await new Promise((r) => server.close(r));
  });

  for (const upgrade of ['websocket, h2c', 'h2c, WebSocket', 'WebSocket\r\nUpgrade: websocket']) {
    test(`client sends Upgrade: ${JSON.stringify(upgrade)}: the backend sees exactly "websocket"`, async () => {
      const before = seen.length;
      const raw = await rawExchange(
        t.dp.ports.http,
        `GET /ws HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        /\r\n\r\n/,
      );
      assert.match(raw, /^HTTP\/1\.1 101/, raw);
      assert.equal(seen.length, before + 1);
      assert.equal(seen.at(-1), 'websocket');
    });
  }
});
