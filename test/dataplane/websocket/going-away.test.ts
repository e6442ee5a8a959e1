import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { openWebSocket } from '../helpers/ws.ts';

// Issue 14 item 3: at the drain deadline a WebSocket gets a clean close (1001 Going Away, RFC 6455 7.4.1) at a
// frame boundary, never a cut connection (1006) and never half a frame.

const HOST = 'ws.test';
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A WebSocket server written byte by byte: answers the 101 itself, then hands the raw socket to `onOpen`. */
async function rawWsBackend(onOpen: (socket: Socket) => void): Promise<Server> {
  const server = createServer((socket) => {
    let head = Buffer.alloc(0);
    socket.on('error', () => {});
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      const key = /sec-websocket-key: *(\S+)/i.exec(head.subarray(0, end).toString())?.[1] ?? '';
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      onOpen(socket);
    };
    socket.on('data', onHead);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** An unmasked binary frame header (server to client) for a payload of `length` bytes (64-bit length form). */
function header64(hi: number, lo: number): Buffer {
  const h = Buffer.alloc(10);
  h[0] = 0x82;
  h[1] = 127;
  h.writeUInt32BE(hi, 2);
  h.writeUInt32BE(lo, 6);
  return h;
}

/** Resolves with the first close frame (opcode 8) a raw backend socket receives: its unmasked status code. */
function closeCodeFrom(socket: Socket): Promise<number> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      // Client frames are masked: 2 header bytes, 4 mask bytes, then the payload (code first).
      if (got.length >= 8 && ((got[0] as number) & 0x0f) === 8 && ((got[1] as number) & 0x80) !== 0) {
        resolve((((got[6] as number) ^ (got[2] as number)) << 8) | ((got[7] as number) ^ (got[3] as number)));
      }
    });
  });
}

function clientClose(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
}

describe('WebSocket tunnels at the drain deadline', () => {
  let t: TestDataplane | undefined;
  const servers: Server[] = [];
  const cleanups: (() => void)[] = [];

  const proxyTo = async (port: number) => {
    t = await startDataplane();
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: HOST, routes: [{ backend: 'b' }] }],
        backends: [{ id: 'b', endpoints: [port] }],
      }),
    );
    return t;
  };

  afterEach(async () => {
    for (const c of cleanups.splice(0)) c();
    await t?.dp.shutdown({ drainTimeoutMs: 0, closeGraceMs: 0 });
    t = undefined;
    for (const s of servers.splice(0)) {
      s.close();
      if ('closeAllConnections' in s) (s as unknown as { closeAllConnections(): void }).closeAllConnections();
    }
  });

  test('client and backend both get close code 1001; the backend saw a masked close frame', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    cleanups.push(() => wss.close());
    const backendClose = new Promise<number>((resolve) =>
      wss.on('connection', (s) => {
        s.on('message', (d) => s.send(d));
        s.once('close', (code: number) => resolve(code));
      }),
    );
    const dp = await proxyTo((wss.address() as AddressInfo).port);
    const { ws } = await openWebSocket(`ws://127.0.0.1:${dp.dp.ports.http}/`, HOST);
    ws.send('hello');
    await once(ws, 'message');
    const code = clientClose(ws);
    await dp.dp.shutdown({ drainTimeoutMs: 0, closeGraceMs: 5_000 });
    assert.equal(await code, 1001, 'the client sees Going Away, not 1006');
    // ws rejects an unmasked client frame (RFC 6455 5.1), so 1001 here proves the proxy masked its close.
    assert.equal(await backendClose, 1001);
  });

  test('a frame in flight at the deadline arrives whole, then the close', async () => {
    const SIZE = 200_000;
    const payload = Buffer.alloc(SIZE, 7);
    const backend = await rawWsBackend((socket) => {
      socket.write(Buffer.concat([header64(0, SIZE), payload.subarray(0, SIZE / 2)]));
      // The rest goes only once the proxy has gone away (its close frame to us proves the deadline passed).
      void closeCodeFrom(socket).then((code) => {
        assert.equal(code, 1001);
        socket.write(payload.subarray(SIZE / 2));
        // More frames after the boundary: the proxy must not forward them past its close.
        socket.write(Buffer.from([0x81, 0x05, ...Buffer.from('after')]));
      });
    });
    servers.push(backend);
    const dp = await proxyTo((backend.address() as AddressInfo).port);
    const { ws } = await openWebSocket(`ws://127.0.0.1:${dp.dp.ports.http}/`, HOST);
    const messages: Buffer[] = [];
    ws.on('message', (d: Buffer) => messages.push(d));
    const code = clientClose(ws);
    // Half the frame reached the proxy before the deadline: wait until it relayed that much to the client.
    await waitForBytes(ws, SIZE / 2);
    await dp.dp.shutdown({ drainTimeoutMs: 0, closeGraceMs: 5_000 });
    assert.equal(await code, 1001);
    assert.equal(messages.length, 1, 'exactly the frame in flight, nothing after the close');
    assert.ok(messages[0]?.equals(payload), 'the frame arrived whole');
  });

  test('a backend that never stops sending still gets closed, and the client sees 1001', async () => {
    let backendClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      backendClosed = resolve;
    });
    const backend = await rawWsBackend((socket) => {
      socket.once('close', backendClosed);
      let sent = 0;
      // Bounded: small text frames until the socket closes or 200,000 frames went out.
      const pump = () => {
        for (let i = 0; i < 50 && socket.writable; i += 1)
          socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
        sent += 50;
        if (socket.writable && sent < 200_000) setImmediate(pump);
      };
      pump();
    });
    servers.push(backend);
    const dp = await proxyTo((backend.address() as AddressInfo).port);
    const { ws } = await openWebSocket(`ws://127.0.0.1:${dp.dp.ports.http}/`, HOST);
    const code = clientClose(ws);
    await once(ws, 'message');
    await dp.dp.shutdown({ drainTimeoutMs: 0, closeGraceMs: 500 });
    assert.equal(await code, 1001);
    await closed;
    assert.ok(
      [...dp.dp.upstreams.endpoints()].every((e) => e.active === 0),
      'the endpoint is released',
    );
  });

  test('a hostile 2^62-byte frame is streamed, not buffered, and the tunnel is destroyed after the grace', async () => {
    const CHUNKS = 32;
    const CHUNK = 64 * 1024;
    let backendSocket: Socket | undefined;
    const backend = await rawWsBackend((socket) => {
      backendSocket = socket;
      // Length 2^62 (and a second stream below with the reserved top bit set): a frame that never ends.
      socket.write(header64(0x4000_0000, 0));
      for (let i = 0; i < CHUNKS; i += 1) socket.write(Buffer.alloc(CHUNK, 1));
    });
    servers.push(backend);
    const dp = await proxyTo((backend.address() as AddressInfo).port);
    const client = await rawWsClient(dp.dp.ports.http);
    // Every byte of the frame reaches the client while the frame is still unfinished: streamed.
    await client.until(10 + CHUNKS * CHUNK);
    const backendGotClose = closeCodeFrom(backendSocket as Socket);
    await dp.dp.shutdown({ drainTimeoutMs: 0, closeGraceMs: 200 });
    await client.closed;
    assert.equal(client.bytes(), 10 + CHUNKS * CHUNK, 'no close frame was spliced into the unfinished frame');
    assert.equal(
      await backendGotClose,
      1001,
      'the client-to-backend direction was at a boundary: closed cleanly',
    );
  });

  test('a 64-bit length with the reserved top bit set is streamed the same way', async () => {
    const backend = await rawWsBackend((socket) => {
      socket.write(header64(0xffff_ffff, 0xffff_ffff));
      socket.write(Buffer.alloc(1000, 2));
    });
    servers.push(backend);
    const dp = await proxyTo((backend.address() as AddressInfo).port);
    const client = await rawWsClient(dp.dp.ports.http);
    await client.until(1010);
    await dp.dp.shutdown({ drainTimeoutMs: 0, closeGraceMs: 200 });
    await client.closed;
    assert.equal(client.bytes(), 1010);
  });
});

/** Resolves once `ws` has read at least `n` bytes on its socket (the 101 included). */
function waitForBytes(ws: WebSocket, n: number): Promise<void> {
  const socket = (ws as unknown as { _socket: Socket })._socket;
  return new Promise((resolve) => {
    const check = () => {
      if (socket.bytesRead >= n) {
        socket.off('data', check);
        resolve();
      }
    };
    socket.on('data', check);
    check();
  });
}

/** A raw WebSocket client: the handshake, then it only counts the bytes it receives after the 101. */
async function rawWsClient(port: number): Promise<{
  until(n: number): Promise<void>;
  bytes(): number;
  closed: Promise<void>;
}> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(
    `GET / HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  let head = Buffer.alloc(0);
  let body = 0;
  let waiter: { n: number; resolve: () => void } | undefined;
  const closed = once(socket, 'close').then(() => {});
  socket.on('data', (chunk: Buffer) => {
    if (head !== undefined && head.indexOf('\r\n\r\n') < 0) {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      body += head.length - end - 4;
    } else body += chunk.length;
    if (waiter !== undefined && body >= waiter.n) waiter.resolve();
  });
  return {
    until: (n) =>
      new Promise((resolve) => {
        if (body >= n) resolve();
        else waiter = { n, resolve };
      }),
    bytes: () => body,
    closed,
  };
}
