import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { getHeapStatistics } from 'node:v8';
import { memoryReducingGc } from '../../../cmd/dataplane-side.ts';
import type { ReclaimReport } from '../../../src/dataplane/lifecycle/memory-reclaim.ts';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { closed, echo, openWebSocket } from '../helpers/ws.ts';

/** Resolves with the next value pushed, or rejects after `ms` (a bound on the wait, not a performance limit). */
function next<T>(waiters: ((v: T) => void)[], ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    waiters.push((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

describe('memory given back after tunnels close (issue 13 item 4)', () => {
  let backends: TestBackend[];
  let t: TestDataplane;
  let calls = 0;
  const waiters: ((r: ReclaimReport & { calls: number }) => void)[] = [];

  before(async () => {
    backends = await startBackends(2);
    t = await startDataplane({
      reclaimMemory: () => {
        calls += 1;
      },
      reclaimPolicy: { minDrop: 20, quietMs: 50, minIntervalMs: 0 },
    });
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'ws.test', routes: [{ backend: 'ws' }] }],
        backends: [{ id: 'ws', endpoints: backends.map((b) => b.port) }],
      }),
    );
    // The dataplane logs each reclaim; the test reads that line as an operator would.
    const logs = t.logs;
    const push = logs.push.bind(logs);
    logs.push = (...lines: Record<string, unknown>[]) => {
      for (const l of lines) {
        if (l.msg === 'memory reclaimed after tunnels closed') {
          const r = { peak: l.peakTunnels, open: l.openTunnels, ms: l.ms, calls } as ReclaimReport & {
            calls: number;
          };
          for (const w of waiters.splice(0)) w(r);
        }
      }
      return push(...lines);
    };
  });
  after(async () => {
    await t.close();
    await closeAll(backends);
  });

  const openMany = async (n: number) => {
    const url = `ws://127.0.0.1:${t.dp.ports.http}/chat`;
    const sockets = await Promise.all(Array.from({ length: n }, () => openWebSocket(url, 'ws.test')));
    // Each tunnel carries traffic before it goes idle: the relay is really up.
    assert.match(await echo((sockets[0] as (typeof sockets)[0]).ws, 'hello'), /:hello$/);
    return sockets;
  };
  const closeMany = async (sockets: Awaited<ReturnType<typeof openMany>>) => {
    for (const s of sockets) s.ws.close();
    await Promise.all(sockets.map((s) => closed(s.ws)));
  };

  test('a drop below minDrop collects nothing; a large drop then collects once, after closes stop', async () => {
    // 10 tunnels up and down: under the 20 the policy asks for.
    await closeMany(await openMany(10));
    // Then 30 up and down: one reclaim, whose report names the peak of 30, not 40 (the first burst never counted).
    const reclaimed = next(waiters, 10_000, 'reclaim');
    await closeMany(await openMany(30));
    const r = await reclaimed;
    assert.deepEqual({ peak: r.peak, open: r.open, calls: r.calls }, { peak: 30, open: 0, calls: 1 });
    assert.equal(calls, 1, 'one collection for a whole burst of closes, not one per tunnel');
  });

  test('tunnels still open keep their place: the collection runs with them, and they still echo', async () => {
    const keep = await openMany(5);
    const reclaimed = next(waiters, 10_000, 'reclaim');
    await closeMany(await openMany(25));
    const r = await reclaimed;
    assert.deepEqual({ peak: r.peak, open: r.open }, { peak: 30, open: 5 });
    const replies = await Promise.all(keep.map((s, i) => echo(s.ws, `after${i}`)));
    for (const [i, reply] of replies.entries()) assert.match(reply, new RegExp(`:after${i}$`));
    await closeMany(keep);
  });
});

describe('serve passes V8 a memory-reducing collection', () => {
  test('it gives freed heap pages back: committed heap falls after garbage is dropped', () => {
    const reclaim = memoryReducingGc();
    reclaim();
    const base = getHeapStatistics().total_heap_size;
    // ~40 MB of objects that survive into the old generation, then dropped.
    let garbage: { i: number; s: string }[][] | undefined = Array.from({ length: 40 }, (_, k) =>
      Array.from({ length: 20_000 }, (_, i) => ({ i, s: `${k}:${i}` })),
    );
    const grown = getHeapStatistics().total_heap_size;
    assert.ok(grown - base > 20 * 1024 * 1024, `the heap grew (${grown - base} bytes)`);
    assert.equal(garbage.length, 40);
    garbage = undefined;
    reclaim();
    const after = getHeapStatistics().total_heap_size;
    // What the process gives back, compared with what it took in this same test.
    assert.ok(
      base - after > -0.2 * (grown - base) && grown - after > 0.8 * (grown - base),
      `${base} ${grown} ${after}`,
    );
  });
});
