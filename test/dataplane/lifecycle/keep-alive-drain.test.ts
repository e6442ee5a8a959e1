import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

// Issue 14 item 3: while draining, a keep-alive client is told `Connection: close` (RFC 9112 9.6) on the
// response it is waiting for, and the connection then ends, so its next request opens a new connection,
// which the load balancer sends to another replica. An idle keep-alive connection is closed after a short grace.
// A connection the load balancer opened just before the listener closed, whose request arrives after the drain
// began, is answered (with `Connection: close`), not reset: node counts it idle until its request is parsed.

/** A raw HTTP/1.1 keep-alive connection that collects everything it receives. */
async function keepAlive(
  port: number,
): Promise<{ socket: Socket; text: () => string; ended: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let got = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    got += d;
  });
  const ended = once(socket, 'end').then(() => {});
  return { socket, text: () => got, ended };
}

/** A dataplane serving app.test from the backend on `port`. */
async function appDataplane(port: number): Promise<TestDataplane> {
  const t = await startDataplane();
  t.dp.apply(
    buildSnapshot({
      hosts: [{ hostname: 'app.test', routes: [{ backend: 'web' }] }],
      backends: [{ id: 'web', endpoints: [port] }],
    }),
  );
  return t;
}

describe('a connection accepted just before the drain', () => {
  let backend: TestBackend;
  let t: TestDataplane;

  before(async () => {
    backend = await startBackend('b0');
    t = await appDataplane(backend.port);
  });
  after(async () => {
    await t.dp.shutdown({ drainTimeoutMs: 0 });
    await closeAll([backend]);
  });

  test('its request, sent after the drain began, is answered with Connection: close, not reset', async () => {
    const port = t.dp.ports.http;
    const fresh = await keepAlive(port);
    const closedEarly = once(fresh.socket, 'close').then(() => 'closed');
    // node has accepted it (the loop is idle); nothing has been sent on it yet.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const done = t.dp.shutdown({ drainTimeoutMs: 10_000 });
    // The client's request leaves a moment later, as one the load balancer forwarded as the replica stopped.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(
      await Promise.race([closedEarly, Promise.resolve('open')]),
      'open',
      'not reset at the drain',
    );
    fresh.socket.write('GET /a HTTP/1.1\r\nHost: app.test\r\n\r\n');
    await fresh.ended;
    assert.match(fresh.text(), /^HTTP\/1\.1 200 /);
    assert.match(fresh.text(), /\r\nconnection: close\r\n/i);
    assert.match(fresh.text(), /"id":"b0"/);
    await done;
    // A new connection is refused: the listener closed at the drain.
    const refused = connect(port, '127.0.0.1');
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
  });
});

describe('keep-alive connections while draining', () => {
  let backend: TestBackend;
  let t: TestDataplane;
  let release: (() => void) | undefined;
  let arrived!: () => void;
  const slowArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });

  before(async () => {
    backend = await startBackend('b0', (req, res) => {
      if (req.url !== '/slow') return false;
      release = () => res.end('slow done');
      arrived();
      return true;
    });
    t = await appDataplane(backend.port);
  });
  after(async () => {
    release?.();
    await t.dp.shutdown({ drainTimeoutMs: 0 });
    await closeAll([backend]);
  });

  test('the response in flight says Connection: close and the connection ends; an idle one is closed', async () => {
    const port = t.dp.ports.http;
    const busy = await keepAlive(port);
    const idle = await keepAlive(port);
    // Both connections served one keep-alive response before the drain.
    for (const c of [busy, idle]) c.socket.write('GET /a HTTP/1.1\r\nHost: app.test\r\n\r\n');
    await Promise.all(
      [busy, idle].map(
        (c) =>
          new Promise<void>((resolve) => {
            const check = () => (/\r\n\r\n[\s\S]*"id":"b0"/.test(c.text()) ? resolve() : setImmediate(check));
            check();
          }),
      ),
    );
    assert.doesNotMatch(busy.text(), /connection: close/i, 'keep-alive before the drain');
    const before = busy.text().length;
    busy.socket.write('GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n');
    await slowArrived;

    const done = t.dp.shutdown({ drainTimeoutMs: 10_000 });
    await idle.ended;
    release?.();
    await busy.ended;
    const second = busy.text().slice(before);
    assert.match(second, /^HTTP\/1\.1 200 /);
    assert.match(second, /\r\nconnection: close\r\n/i);
    assert.match(second, /slow done$/);
    await done;
  });
});
