import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { H1Pool } from '../../../src/dataplane/upstream/h1-pool.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/** Behaviour of our upstream HTTP/1.1 client (src/dataplane/upstream/h1-*.ts) on real loopback sockets. */

interface Upstream {
  server: Server;
  port: number;
  /** Every accepted socket, and what it received (latin1). */
  conns: { socket: Socket; received: string }[];
}

let up: Upstream;
let answer: (conn: Upstream['conns'][number]) => void = () => {};

before(async () => {
  const conns: Upstream['conns'] = [];
  const server = createServer((socket) => {
    const conn = { socket, received: '' };
    conns.push(conn);
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      conn.received += d.toString('latin1');
      answer(conn);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  up = { server, port: (server.address() as { port: number }).port, conns };
});

after(() => {
  for (const c of up.conns) c.socket.destroy();
  up.server.close();
});

interface Result {
  status?: number;
  body: Buffer[];
  error?: string;
  started: boolean;
  sent: number;
}

function exchange(
  pool: H1Pool,
  req: Partial<Parameters<H1Pool['dispatch']>[0]>,
  onData?: (c: Dispatcher.DispatchController, chunk: Buffer) => void,
): { done: Promise<Result>; result: Result } {
  const result: Result = { body: [], started: false, sent: 0 };
  const done = new Promise<Result>((resolve) => {
    pool.dispatch(
      { method: 'GET', path: '/', headers: ['host', 'up.test'], body: null, headersTimeout: 10_000, ...req },
      {
        onRequestStart() {
          result.started = true;
        },
        onBodySent(chunk) {
          result.sent += (chunk as unknown as Buffer).length;
        },
        onResponseStart(_c, status) {
          result.status = status;
        },
        onResponseData(c, chunk) {
          result.body.push(chunk);
          onData?.(c, chunk);
        },
        onResponseEnd() {
          resolve(result);
        },
        onResponseError(_c, err) {
          result.error =
            (err as { reason?: string; code?: string }).reason ??
            (err as { code?: string }).code ??
            err.message;
          resolve(result);
        },
      },
    );
  });
  return { done, result };
}

const pool = () => new H1Pool('127.0.0.1', up.port, { connectTimeout: 5_000, keepAliveTimeout: 4_000 });
const headEnd = (s: string) => s.indexOf('\r\n\r\n');

test('a body without Content-Length is sent chunked, byte for byte, and the connection is reused', async () => {
  up.conns.length = 0;
  answer = (conn) => {
    if (conn.received.endsWith('0\r\n\r\n'))
      conn.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  };
  const p = pool();
  const parts = ['first', 'second', 'x'.repeat(70_000)];
  const r = await exchange(p, { method: 'POST', body: Readable.from(parts.map((s) => Buffer.from(s))) }).done;
  assert.equal(r.status, 200);
  assert.equal(r.sent, parts.join('').length);
  const wire = up.conns[0]!.received;
  assert.match(wire.slice(0, headEnd(wire)), /\r\ntransfer-encoding: chunked/);
  const expected = parts.map((s) => `${s.length.toString(16)}\r\n${s}\r\n`).join('');
  assert.equal(wire.slice(headEnd(wire) + 4), `${expected}0\r\n\r\n`);
  up.conns[0]!.received = '';
  answer = (conn) => {
    if (headEnd(conn.received) >= 0) conn.socket.write('HTTP/1.1 204 No Content\r\n\r\n');
  };
  assert.equal((await exchange(p, {}).done).status, 204);
  assert.equal(up.conns.length, 1, 'the second request went over the same connection');
  await p.destroy();
});

test('request bodies are streamed with backpressure: an upstream that does not read stops the source', async () => {
  up.conns.length = 0;
  answer = (conn) => conn.socket.pause(); // reads the head, then nothing more
  let pulled = 0;
  const total = 64 * 1024 * 1024;
  const source = new Readable({
    read() {
      if (pulled >= total) this.push(null);
      else {
        pulled += 64 * 1024;
        this.push(Buffer.alloc(64 * 1024, 0x61));
      }
    },
  });
  const p = pool();
  const { done } = exchange(p, {
    method: 'PUT',
    headers: ['host', 'up.test', 'content-length', String(total)],
    body: source,
  });
  // Wait until the source stops being pulled (bounded: at most 500 polls), then compare counts.
  let last = -1;
  for (let i = 0; i < 500 && pulled !== last; i++) {
    last = pulled;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(pulled < total / 4, `pulled ${pulled} of ${total} bytes while the upstream read nothing`);
  await p.destroy();
  assert.equal((await done).error, 'H1_ERR_POOL_CLOSED');
});

test('a silent upstream gets a read timeout after the request started; the next request opens a new connection', async () => {
  up.conns.length = 0;
  answer = () => {};
  const p = pool();
  const r = await exchange(p, { headersTimeout: 150 }).done;
  assert.equal(r.error, 'H1_ERR_READ_TIMEOUT');
  assert.equal(r.started, true, 'the exchange had started: no retry on another endpoint');
  answer = (conn) => conn.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  assert.equal((await exchange(p, {}).done).status, 200);
  assert.equal(up.conns.length, 2);
  await p.destroy();
});

test('a response aborted half-way, or answered before the request body was sent, is never reused', async () => {
  up.conns.length = 0;
  answer = (conn) => {
    if (headEnd(conn.received) >= 0 && conn.received.startsWith('GET')) {
      conn.received = '';
      conn.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345`);
    }
  };
  const p = pool();
  const aborted = await exchange(p, {}, (c) => c.abort(new Error('client went away'))).done;
  assert.equal(aborted.error, 'client went away');
  assert.equal(aborted.body.length, 1);
  // Early answer: the upstream refuses the upload before reading it (e.g. 413), with keep-alive framing.
  answer = (conn) => {
    if (headEnd(conn.received) >= 0) conn.socket.write('HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n');
  };
  const never = new Readable({ read() {} });
  never.push('partial');
  const early = await exchange(p, {
    method: 'POST',
    headers: ['host', 'up.test', 'content-length', '100'],
    body: never,
  }).done;
  assert.equal(early.status, 413);
  answer = (conn) => {
    if (headEnd(conn.received) >= 0) conn.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  };
  assert.equal((await exchange(p, {}).done).status, 200);
  assert.equal(up.conns.length, 3, 'one connection per exchange: neither left-over was reused');
  never.destroy();
  await p.destroy();
});

test('an idle connection stays pooled, then the pool closes it after keepAliveTimeout; the next request opens another', async () => {
  up.conns.length = 0;
  answer = (conn) => {
    if (headEnd(conn.received) >= 0) {
      conn.received = '';
      conn.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    }
  };
  const p = new H1Pool('127.0.0.1', up.port, { connectTimeout: 5_000, keepAliveTimeout: 100 });
  assert.equal((await exchange(p, {}).done).status, 200);
  assert.equal(p.connections, 1, 'parked for reuse');
  const upstreamSide = up.conns[0]!.socket;
  // The upstream sees our FIN (bounded: the test's own timeout).
  if (!upstreamSide.readableEnded) await once(upstreamSide, 'end');
  assert.equal(p.connections, 0);
  assert.equal((await exchange(p, {}).done).status, 200);
  assert.equal(up.conns.length, 2);
  await p.destroy();
});

test('a header value that would split the request is refused before any connection opens', () => {
  up.conns.length = 0;
  const p = pool();
  const handler: Dispatcher.DispatchHandler = {};
  const send = (req: Partial<Parameters<H1Pool['dispatch']>[0]>) =>
    p.dispatch({ method: 'GET', path: '/', headers: ['host', 'up.test'], body: null, ...req }, handler);
  for (const headers of [
    ['host', 'up.test', 'x-a', 'b\r\nx-injected: 1'],
    ['host', 'up.test', 'x a', 'b'],
    ['host', 'up.test', 'x-nul', 'a\0b'],
  ]) {
    assert.throws(() => send({ headers }), {
      code: 'STICKY_ERR_UPSTREAM_HTTP1',
      reason: 'H1_ERR_INVALID_REQUEST',
    });
  }
  assert.throws(() => send({ path: '/a b' }), {
    code: 'STICKY_ERR_UPSTREAM_HTTP1',
    reason: 'H1_ERR_INVALID_REQUEST',
  });
  assert.throws(() => send({ path: '*' }), {
    code: 'STICKY_ERR_UPSTREAM_HTTP1',
    reason: 'H1_ERR_INVALID_REQUEST',
  });
  assert.equal(p.connections, 0);
  void p.destroy();
});

test('through the dataplane: an upstream response with ambiguous framing is a 502, the smuggled response never reaches the client', async () => {
  // Transfer-Encoding: gzip, chunked is accepted by llhttp (as read-until-close); the bytes after it carry
  // a second response an attacker-controlled upstream could use to poison a shared connection.
  const smuggler = createServer((s) => {
    s.on('error', () => {});
    s.once('data', () =>
      s.end(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
          'HTTP/1.1 200 OK\r\nX-Smuggled: 1\r\nContent-Length: 0\r\n\r\n',
      ),
    );
  });
  smuggler.listen(0, '127.0.0.1');
  await once(smuggler, 'listening');
  const port = (smuggler.address() as { port: number }).port;
  let t: TestDataplane | undefined;
  try {
    t = await startDataplane({ upstreamClient: 'raw' });
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'app.test', routes: [{ backend: 'app' }] }],
        backends: [{ id: 'app', endpoints: [port] }],
      }),
    );
    const res = await request({ port: t.dp.ports.http, host: 'app.test' });
    assert.equal(res.status, 502);
    assert.equal(res.headers['x-smuggled'], undefined);
    assert.doesNotMatch(res.body, /Smuggled|abc/);
  } finally {
    await t?.close();
    smuggler.close();
  }
});
