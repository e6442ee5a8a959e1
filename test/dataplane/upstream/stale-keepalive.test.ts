import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { H1Pool } from '../../../src/dataplane/upstream/h1-pool.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/**
 * Stale keep-alive connections (RFC 9112 §9.3.1): an upstream may close an idle connection just as the proxy
 * writes the next request on it. An idempotent request whose body was not read is sent once more on a fresh
 * connection to the same endpoint; anything else is a 502. The race is forced: the upstream below closes (FIN)
 * or resets (RST) a connection on the first byte of its second request, before answering anything.
 */

type Mode = 'fin' | 'rst';

interface Upstream {
  server: Server;
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** How a reused connection dies on the first byte of its next request. */
  kill: Mode;
  /** Fresh connections die on their first request's first byte too. */
  killFresh: boolean;
  /** Request heads answered (method and path), in order. */
  answered: string[];
}

function startUpstream(): Promise<Upstream> {
  const up: Upstream = {
    server: createServer(),
    port: 0,
    connections: 0,
    kill: 'fin',
    killFresh: false,
    answered: [],
  };
  up.server.on('connection', (socket: Socket) => {
    const id = ++up.connections;
    let served = 0;
    let received = '';
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      if (served > 0 || up.killFresh) {
        // The idle close racing the next request: nothing of it is read, nothing answered.
        if (up.kill === 'rst') socket.resetAndDestroy();
        else socket.destroy();
        return;
      }
      received += d.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const line = received.slice(0, received.indexOf('\r\n'));
      const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(0, end))?.[1];
      if (received.length < end + 4 + Number(length ?? 0)) return;
      served++;
      up.answered.push(line);
      const body = `connection ${id}`;
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    });
  });
  up.server.listen(0, '127.0.0.1');
  return once(up.server, 'listening').then(() => {
    up.port = (up.server.address() as { port: number }).port;
    return up;
  });
}

describe('stale keep-alive connections through the dataplane', () => {
  let up: Upstream;
  let t: TestDataplane;

  before(async () => {
    up = await startUpstream();
    t = await startDataplane({ upstreamClient: 'raw' });
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'app.test', routes: [{ backend: 'app' }] }],
        backends: [{ id: 'app', endpoints: [up.port] }],
      }),
    );
  });

  after(async () => {
    await t.close();
    up.server.close();
  });

  beforeEach(() => {
    up.killFresh = false;
  });

  /** One request that opens (or reuses) a pooled connection the upstream answers, so the next one reuses it. */
  async function warm(): Promise<number> {
    const res = await request({ port: t.dp.ports.http, host: 'app.test' });
    assert.equal(res.status, 200);
    return up.connections;
  }

  for (const mode of ['fin', 'rst'] as const) {
    test(`a GET on a pooled connection the upstream closes (${mode}) as it arrives is answered from a fresh connection`, async () => {
      up.kill = mode;
      const before = await warm();
      const res = await request({ port: t.dp.ports.http, host: 'app.test', path: '/again' });
      assert.equal(res.status, 200, 'the client never sees the stale connection');
      assert.equal(
        res.body,
        `connection ${before + 1}`,
        'sent again on a new connection to the same endpoint',
      );
      assert.equal(up.connections, before + 1);
      assert.equal(up.answered.at(-1), 'GET /again HTTP/1.1');
    });
  }

  test('a POST with a body is never replayed: 502, and the upstream sees no second attempt', async () => {
    up.kill = 'fin';
    const before = await warm();
    const res = await request({
      port: t.dp.ports.http,
      host: 'app.test',
      method: 'POST',
      path: '/order',
      body: 'pay=1',
    });
    assert.equal(res.status, 502);
    assert.equal(up.connections, before, 'no new connection was opened for it');
    assert.ok(!up.answered.some((l) => l.startsWith('POST')));
  });

  test('a PUT whose body was already forwarded is not replayed either (its bytes are gone): 502', async () => {
    up.kill = 'rst';
    const before = await warm();
    const res = await request({
      port: t.dp.ports.http,
      host: 'app.test',
      method: 'PUT',
      path: '/doc',
      body: 'v=2',
    });
    assert.equal(res.status, 502);
    assert.equal(up.connections, before);
    assert.ok(!up.answered.some((l) => l.startsWith('PUT')));
  });

  test('the replay happens once: when the fresh connection closes too, the client gets 502', async () => {
    up.kill = 'fin';
    const before = await warm();
    up.killFresh = true;
    const res = await request({ port: t.dp.ports.http, host: 'app.test', path: '/twice' });
    assert.equal(res.status, 502);
    assert.equal(up.connections, before + 1, 'the stale connection, then exactly one fresh one');
  });
});

test('pool: a request sent while the upstream FIN is in flight (same read as the last response) is resent once', async () => {
  // The response and the FIN leave together; the next request is dispatched from a microtask after the
  // response ended, i.e. before the FIN is read: the connection still looks idle and usable.
  let connections = 0;
  const server = createServer((socket) => {
    const id = ++connections;
    socket.on('error', () => {});
    socket.once('data', () => socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${id}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const pool = new H1Pool('127.0.0.1', (server.address() as { port: number }).port, {
    connectTimeout: 5_000,
    keepAliveTimeout: 4_000,
  });
  const send = (then?: () => void) =>
    new Promise<string>((resolve) => {
      const body: Buffer[] = [];
      pool.dispatch(
        { method: 'GET', path: '/', headers: ['host', 'up.test'], body: null, idempotent: true },
        {
          onResponseData: (_c, chunk) => void body.push(chunk),
          onResponseEnd: () => {
            resolve(Buffer.concat(body).toString());
            if (then !== undefined) queueMicrotask(then);
          },
          onResponseError: (_c, err) =>
            resolve(`error ${(err as { reason?: string }).reason ?? err.message}`),
        },
      );
    });
  try {
    let second: Promise<string> | undefined;
    const first = await send(() => {
      second = send();
    });
    assert.equal(first, '1');
    for (let i = 0; i < 100 && second === undefined; i++) await new Promise((r) => setImmediate(r));
    assert.equal(await second, '2', 'answered on a second connection');
  } finally {
    await pool.destroy();
    server.close();
  }
});
