import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { startBackends, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { dataplaneHooks, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

let backends: TestBackend[];
let t: TestDataplane;
dataplaneHooks(
  () => startBackends(2),
  (b, d) => ([backends, t] = [b, d]),
);

test('keep-alive upstream connections survive a swap and are closed when their endpoint leaves', async () => {
  const [b0, b1] = backends as [TestBackend, TestBackend];
  const opened: Socket[] = [];
  b1.server.on('connection', (s: Socket) => opened.push(s));
  const both = { hosts: [{ hostname: 'app.test', routes: [{ backend: 'app' }] }] };
  t.dp.apply(buildSnapshot({ ...both, backends: [{ id: 'app', endpoints: [b0.port, b1.port] }] }, 1));
  const port = t.dp.ports.http;
  const ids = new Set<string>();
  for (let i = 0; i < 4; i++) ids.add(json(await request({ port, host: 'app.test' })).id);
  assert.deepEqual([...ids].sort(), ['b0', 'b1']);
  assert.equal(opened.length, 1, 'one pooled connection to b1');

  // Same endpoints, another version: the pooled connection is reused, not reopened.
  t.dp.apply(
    buildSnapshot({ ...both, backends: [{ id: 'app', endpoints: [b0.port, b1.port], retries: 1 }] }, 2),
  );
  for (let i = 0; i < 4; i++) await request({ port, host: 'app.test' });
  assert.equal(opened.length, 1, 'the swap kept the keep-alive connection');

  // b1 leaves the configuration: its pool closes the idle connection at once. The only other way it
  // closes is the upstream keep-alive timeout (4 s idle), so a bound of half that tells the two apart.
  const closed = once(opened[0]!, 'close').then(() => 'closed by the swap');
  t.dp.apply(buildSnapshot({ ...both, backends: [{ id: 'app', endpoints: [b0.port] }] }, 3));
  const idle = new Promise<string>((resolve) => setTimeout(resolve, 2_000, 'still open').unref());
  assert.equal(await Promise.race([closed, idle]), 'closed by the swap');
  assert.equal(json(await request({ port, host: 'app.test' })).id, 'b0');
});

test('pools are keyed by endpoint and connect settings: an edited connect timeout and two backends over one pod', async () => {
  const [, , pod] = [...backends, ...(await startBackends(1))] as [TestBackend, TestBackend, TestBackend];
  try {
    const opened: Socket[] = [];
    pod.server.on('connection', (s: Socket) => opened.push(s));
    const port = t.dp.ports.http;
    const snap = (fast: number, slow: number, version: number) =>
      buildSnapshot(
        {
          hosts: [
            { hostname: 'fast.test', routes: [{ backend: 'fast' }] },
            { hostname: 'slow.test', routes: [{ backend: 'slow' }] },
          ],
          backends: [
            { id: 'fast', endpoints: [pod.port], timeouts: { connectMs: fast } },
            { id: 'slow', endpoints: [pod.port], timeouts: { connectMs: slow } },
          ],
        },
        version,
      );
    t.dp.apply(snap(1_000, 9_000, 10));
    for (let i = 0; i < 3; i++) {
      assert.equal((await request({ port, host: 'fast.test' })).status, 200);
      assert.equal((await request({ port, host: 'slow.test' })).status, 200);
    }
    // One keep-alive connection per connect setting: the two backends do not share the first one's pool.
    assert.equal(opened.length, 2);
    // proxy-connect-timeout edited on `fast`: the next request connects anew with the new setting, and the
    // pool of the old setting is closed.
    const stale = opened[0] as Socket;
    const staleClosed = once(stale, 'close');
    t.dp.apply(snap(3_000, 9_000, 11));
    assert.equal((await request({ port, host: 'fast.test' })).status, 200);
    assert.equal(opened.length, 3);
    await staleClosed;
    assert.equal((await request({ port, host: 'slow.test' })).status, 200);
    assert.equal(opened.length, 3, 'the unchanged backend keeps its pooled connection');
  } finally {
    await pod.close();
  }
});
