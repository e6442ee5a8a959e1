import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { finalizeSnapshot, type Snapshot } from '../../../src/snapshot/index.ts';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { openWebSocket } from '../helpers/ws.ts';
import { ingressBuild, ingressSnapshot, nginx } from './ingress-support.ts';

// The app's Service with two endpoints: `bad` (misbehaving as each test needs) and `good`.
function twoEndpoints(snapshot: Snapshot, ports: readonly number[], version: number): Snapshot {
  const endpoints = ports.map((port) => ({
    id: `default/[127.0.0.1]:${port}`,
    address: '127.0.0.1',
    port,
    weight: 1,
    ready: true,
    serving: true,
    terminating: false,
  }));
  const { version: _v, hash: _h, ...body } = snapshot;
  return finalizeSnapshot({ ...body, backends: body.backends.map((b) => ({ ...b, endpoints })) }, version);
}

// Re-expressed from ingress-nginx's proxy-next-upstream behaviour (nginx proxy_next_upstream, the e2e
// annotations/proxy.go settings), black-box through the dataplane on real sockets.
describe('proxy-next-upstream (ingress-nginx retry conditions)', () => {
  let good: TestBackend;
  let bad502: TestBackend;
  let silent: TestBackend;
  let dead: Server;
  let deadPort: number;
  let version = 0;
  const open: TestDataplane[] = [];

  before(async () => {
    good = await startBackend('good');
    bad502 = await startBackend('bad', (_req, res) => {
      res.writeHead(502, { 'x-backend-id': 'bad', 'x-leak': 'from-the-502' });
      res.end('bad gateway from the first endpoint');
      return true;
    });
    // Reads the request and never answers: the response-head timeout (proxy-read-timeout) fires.
    silent = await startBackend('silent', () => true);
    // A port that refuses connections: bound, then closed.
    dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    deadPort = (dead.address() as { port: number }).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
  });
  after(async () => {
    for (const t of open) await t.close();
    await closeAll([good, bad502, silent]);
  });

  /** A fresh dataplane serving app.test from [badPort, good] with `annotations`. */
  async function serve(annotations: Record<string, string>, badPort: number): Promise<TestDataplane> {
    const t = await startDataplane();
    open.push(t);
    const base = ingressSnapshot(
      [
        {
          name: 'app',
          host: 'app.test',
          annotations: nginx(annotations),
          paths: [{ path: '/', service: 'app' }],
        },
      ],
      { app: good.port },
      ++version,
    );
    t.dp.apply(twoEndpoints(base, [badPort, good.port], version));
    return t;
  }

  /** Status codes of `n` sequential requests, as a sorted histogram. */
  async function statuses(t: TestDataplane, n: number, method = 'GET', body?: string) {
    const seen = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const res = await request({
        port: t.dp.ports.http,
        host: 'app.test',
        path: `/r${i}`,
        method,
        ...(body !== undefined ? { body } : {}),
      });
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      if (res.status === 200) {
        assert.equal(res.headers['x-backend-id'], 'good');
        assert.equal(res.headers['x-leak'], undefined, 'nothing of the dropped 502 reaches the client');
      }
    }
    return [...seen].sort((a, b) => a[0] - b[0]);
  }

  test('http_502: a backend answering 502 is skipped for the healthy one; without it the client gets the 502s', async () => {
    const before502 = bad502.seen.length;
    const retried = await serve({ 'proxy-next-upstream': 'error timeout http_502' }, bad502.port);
    assert.deepEqual(await statuses(retried, 6), [[200, 6]]);
    const reached = bad502.seen.length - before502;
    assert.ok(reached >= 2, `round-robin sent first tries to the 502 endpoint (${reached})`);

    const plain = await serve({}, bad502.port);
    const histogram = await statuses(plain, 6);
    assert.deepEqual(
      histogram.map(([s]) => s),
      [200, 502],
      'default `error timeout`: a 502 is an answer',
    );
  });

  test('POST is not retried after it was sent unless non_idempotent; a body is never replayed', async () => {
    const strict = await serve({ 'proxy-next-upstream': 'http_502' }, bad502.port);
    const post = await statuses(strict, 6, 'POST', '');
    assert.deepEqual(
      post.map(([s]) => s),
      [200, 502],
      'POST (nginx: non-idempotent) relayed as answered',
    );

    const lax = await serve({ 'proxy-next-upstream': 'http_502 non_idempotent' }, bad502.port);
    assert.deepEqual(await statuses(lax, 6, 'POST', ''), [[200, 6]], 'non_idempotent: bodiless POST retried');
    const withBody = await statuses(lax, 6, 'PUT', 'payload');
    assert.deepEqual(
      withBody.map(([s]) => s),
      [200, 502],
      'a streamed body cannot be sent twice',
    );
  });

  test('timeout: a response-head timeout goes to the next endpoint (default); off answers 504', async () => {
    const retried = await serve({ 'proxy-read-timeout': '1' }, silent.port);
    assert.deepEqual(await statuses(retried, 2), [[200, 2]]);
    const off = await serve({ 'proxy-read-timeout': '1', 'proxy-next-upstream': 'off' }, silent.port);
    assert.deepEqual(
      (await statuses(off, 2)).map(([s]) => s),
      [200, 504],
    );
  });

  test('proxy-next-upstream-timeout: no retry once that long has passed since the request arrived', async () => {
    const unbounded = await serve(
      { 'proxy-read-timeout': '1', 'proxy-next-upstream-timeout': '0' },
      silent.port,
    );
    assert.deepEqual(await statuses(unbounded, 2), [[200, 2]], '0 = no limit');
    // The first try alone takes the 2 s read timeout, so a 1 s next-upstream timeout has always passed. (Equal
    // values raced: the read timer counts from the event loop's cached time, which can be a few ms behind the
    // request's arrival stamp on a loaded machine, so the timer fired at 999 ms of the retry budget's clock.)
    const bounded = await serve(
      { 'proxy-read-timeout': '2', 'proxy-next-upstream-timeout': '1' },
      silent.port,
    );
    assert.deepEqual(
      (await statuses(bounded, 2)).map(([s]) => s),
      [200, 504],
    );
  });

  test('off: not even a refused connection is retried (default error: it is)', async () => {
    const retried = await serve({}, deadPort);
    assert.deepEqual(await statuses(retried, 2), [[200, 2]]);
    const off = await serve({ 'proxy-next-upstream': 'off' }, deadPort);
    assert.deepEqual(
      (await statuses(off, 2)).map(([s]) => s),
      [200, 502],
    );
  });

  test('WebSocket upgrades follow the same rule: a refused connection is retried, not with off', async () => {
    const upgrades = async (t: TestDataplane) => {
      const outcomes: string[] = [];
      for (let i = 0; i < 2; i++) {
        try {
          const { ws, upgrade } = await openWebSocket(`ws://127.0.0.1:${t.dp.ports.http}/ws`, 'app.test');
          outcomes.push(String(upgrade.headers['x-backend-id']));
          ws.terminate();
        } catch (err) {
          outcomes.push((err as Error).message);
        }
      }
      return outcomes.sort();
    };
    assert.deepEqual(await upgrades(await serve({}, deadPort)), ['good', 'good']);
    assert.deepEqual(await upgrades(await serve({ 'proxy-next-upstream': 'off' }, deadPort)), [
      'good',
      'unexpected response 502',
    ]);
  });

  test('an unknown token refuses the Ingress with a diagnostic (never ignored)', async () => {
    const t = await startDataplane();
    open.push(t);
    const ing = [
      {
        name: 'app',
        host: 'app.test',
        annotations: nginx({ 'proxy-next-upstream': 'error http_418' }),
        paths: [{ path: '/', service: 'app' }],
      },
    ];
    const { snapshot, diagnostics } = ingressBuild(ing, { app: good.port }, ++version);
    t.dp.apply(snapshot);
    const error = diagnostics.find((d) => d.severity === 'Error');
    assert.equal(error?.reason, 'InvalidAnnotation');
    assert.match(error?.message ?? '', /"error http_418".*proxy-next-upstream.*not served/);
    assert.equal((await request({ port: t.dp.ports.http, host: 'app.test' })).status, 404);
    const mixed = ingressBuild(
      [{ ...ing[0]!, annotations: nginx({ 'proxy-next-upstream': 'off error' }) }],
      { app: good.port },
      ++version,
    );
    assert.ok(
      mixed.diagnostics.some((d) => d.severity === 'Error'),
      '`off` with other tokens is refused too',
    );
  });
});
