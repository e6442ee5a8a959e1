import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { RequestRecord } from '../../../src/dataplane/observe/observer.ts';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/** A port nothing listens on: bind, read the port, close. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('connect failures, retries and upstream errors', () => {
  let live: TestBackend;
  let stall: TestBackend;
  let dead: number;
  let t: TestDataplane;
  const records: { status: number; retries: number; endpointId: string }[] = [];
  const failures: string[] = [];

  before(async () => {
    live = await startBackend('live');
    stall = await startBackend('stall', () => true); // accepts, never answers
    dead = await closedPort();
    t = await startDataplane({
      observer: {
        onRequest: (r: RequestRecord) =>
          records.push({ status: r.status, retries: r.retries, endpointId: r.endpointId }),
        onTunnelClose: () => {},
        onConnectFailure: (_b, e) => failures.push(e),
      },
    });
  });
  after(async () => {
    await t.close();
    await closeAll([live, stall]);
  });

  test('a refused connect moves to another endpoint and the request succeeds', async () => {
    t.dp.apply(
      buildSnapshot(
        {
          hosts: [{ hostname: 'retry.test', routes: [{ backend: 'r' }] }],
          backends: [{ id: 'r', endpoints: [dead, live.port], retries: 1 }],
        },
        1,
      ),
    );
    for (let i = 0; i < 4; i++) {
      const res = await request({
        port: t.dp.ports.http,
        host: 'retry.test',
        method: 'POST',
        body: 'payload',
      });
      assert.equal(res.status, 200);
      assert.equal(json(res).body, 'payload');
    }
    assert.ok(failures.includes(`127.0.0.1:${dead}`));
    assert.ok(records.some((r) => r.retries === 1 && r.endpointId === `127.0.0.1:${live.port}`));
    const deadState = [...t.dp.upstreams.endpoints()].find((e) => e.id === `127.0.0.1:${dead}`);
    assert.ok(deadState && deadState.failures >= 1 && deadState.active === 0);
  });

  test('no endpoint left: 502 with a plain body; no endpoints at all: 503', async () => {
    t.dp.apply(
      buildSnapshot(
        {
          hosts: [
            { hostname: 'dead.test', routes: [{ backend: 'd' }] },
            { hostname: 'empty.test', routes: [{ backend: 'e' }] },
          ],
          backends: [
            { id: 'd', endpoints: [dead], retries: 2 },
            { id: 'e', endpoints: [] },
          ],
        },
        2,
      ),
    );
    const bad = await request({ port: t.dp.ports.http, host: 'dead.test' });
    assert.equal(bad.status, 502);
    assert.equal(bad.body, 'Bad Gateway: the upstream could not be reached\n');
    const none = await request({ port: t.dp.ports.http, host: 'empty.test' });
    assert.equal(none.status, 503);
    assert.doesNotMatch(none.body, /at \w+ \(/);
  });

  test('an upstream that does not answer within readMs gets 504', async () => {
    t.dp.apply(
      buildSnapshot(
        {
          hosts: [{ hostname: 'slow.test', routes: [{ backend: 's' }] }],
          backends: [{ id: 's', endpoints: [stall.port], timeouts: { readMs: 300 } }],
        },
        3,
      ),
    );
    const res = await request({ port: t.dp.ports.http, host: 'slow.test' });
    assert.equal(res.status, 504);
    assert.match(res.body, /Gateway Timeout/);
  });
});
