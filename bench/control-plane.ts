/**
 * `npm run bench:control` (node --expose-gc bench/control-plane.ts [--quick] [--changes N]): per size
 * (100 / 1,000 / 10,000 Ingresses) the cold publish (build + finalizeSnapshot + dataplane.apply, heap), N
 * EndpointSlice changes and N Ingress changes one at a time (time to live, p50/p99, wall and CPU), and the
 * latency of live HTTP traffic (own thread) idle and while snapshots are swapped: EndpointSlice changes
 * published in this thread, then Ingress changes through the build thread (ThreadedPublisher, what `serve`
 * runs), with the longest the serving thread was held (a 1 ms timer's largest gap).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { ThreadedPublisher } from '../src/controller/build-thread/threaded-publisher.ts';
import type { ClusterView } from '../src/controller/view.ts';
import { Dataplane } from '../src/dataplane/dataplane.ts';
import { makeCertificate } from './lib/configs.ts';
import { BenchPublisher, type PublishTimes, summarize } from './lib/cp-measure.ts';
import {
  BigSliceFlips,
  generateBigServiceView,
  generateView,
  withBigSliceChange,
  withIngressChange,
  withSliceChange,
} from './lib/cp-view.ts';
import { benchDataplaneOptions } from './lib/dataplane-options.ts';
import { loopHeldProbe, percentile } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    changes: { type: 'string', default: '20' },
    sizes: { type: 'string' },
    // 10,000 endpoints behind one Service (slices of 100): the rolling-update case of a large Deployment.
    endpoints: { type: 'string' },
  },
});
const SIZES = args.sizes ? args.sizes.split(',').map(Number) : args.quick ? [100, 1000] : [100, 1000, 10_000];
const CHANGES = Number(args.changes);
const BIG_SERVICE = args.endpoints !== undefined ? Number(args.endpoints) : args.quick ? 0 : 10_000;
const TRAFFIC_SECONDS = args.quick ? 3 : 6;
// The bench's endpoints are its own backend on 127.0.0.1 (standalone mode allows loopback, as --manifests does).
const OPTIONS = { ingressClass: 'sticky', allowLoopbackEndpoints: true };
const gc = (globalThis as { gc?: () => void }).gc;

function heapMiB(): number {
  gc?.();
  return process.memoryUsage().heapUsed / 1048576;
}

/** CHANGES one-object changes published one at a time, each from the view the previous one left. */
function series(
  publisher: BenchPublisher,
  view: ClusterView,
  change: (v: ClusterView, k: number) => ClusterView,
) {
  const runs: PublishTimes[] = [];
  let current = view;
  for (let k = 0; k < CHANGES; k++) {
    current = change(current, k);
    runs.push(publisher.publish(current));
  }
  return { view: current, stats: summarize(runs) };
}

/** Latency percentiles of the worker's samples, split into before the first swap and during swaps. */
function split(samples: [number, number][], firstSwapAt: number) {
  const before = samples.filter(([at]) => at < firstSwapAt).map(([, ms]) => ms);
  const during = samples.filter(([at]) => at >= firstSwapAt).map(([, ms]) => ms);
  const stats = (v: number[]) => ({
    requests: v.length,
    p50Ms: percentile(v, 50),
    p99Ms: percentile(v, 99),
    maxMs: percentile(v, 100),
  });
  return { idle: stats(before), swapping: stats(during) };
}

/**
 * Live traffic to `app-0.bench` for TRAFFIC_SECONDS; after the first third, publish `next(i)` every 100 ms.
 * `held`: the longest gap a 1 ms timer on this (the serving) thread saw while changes came in.
 */
async function trafficDuringSwaps(
  worker: Worker,
  dp: Dataplane,
  publish: (view: ClusterView) => unknown,
  next: (i: number) => ClusterView,
) {
  const done = new Promise<{ samples: [number, number][]; errors: number }>((resolve) => {
    worker.once('message', resolve);
  });
  worker.postMessage({
    type: 'run',
    port: dp.ports.http,
    host: 'app-0.bench',
    concurrency: 4,
    seconds: TRAFFIC_SECONDS,
    maxRequests: 500_000,
  });
  await sleep((TRAFFIC_SECONDS * 1000) / 3);
  const firstSwapAt = performance.timeOrigin + performance.now();
  const swapMs: number[] = [];
  const end = firstSwapAt + (TRAFFIC_SECONDS * 1000 * 2) / 3 - 300;
  const probe = loopHeldProbe();
  for (let i = 0; performance.timeOrigin + performance.now() < end; i++) {
    const t = performance.now();
    await publish(next(i));
    swapMs.push(performance.now() - t);
    await sleep(100); // swaps come from a holdoff, never back to back
  }
  const held = probe.stop();
  const { samples, errors } = await done;
  return {
    swaps: swapMs.length,
    swapP50Ms: percentile(swapMs, 50),
    heldMaxMs: held,
    errors,
    ...split(samples, firstSwapAt),
  };
}

/** Ingress changes (spread over the view, away from app-0) through the build thread, under live traffic. */
async function ingressChangesDuringTraffic(
  worker: Worker,
  dp: Dataplane,
  view: ClusterView,
  at: (k: number) => number,
) {
  const publisher = new ThreadedPublisher(OPTIONS, (snapshot) => dp.apply(snapshot));
  try {
    // The thread's first answer is every part new: apply it (and one change) before traffic starts.
    await publisher.publish(view);
    let current = withIngressChange(view, at(0), 10_000);
    await publisher.publish(current);
    return await trafficDuringSwaps(
      worker,
      dp,
      (v) => publisher.publish(v),
      (i) => {
        current = withIngressChange(current, at(i + 1), 10_001 + i);
        return current;
      },
    );
  } finally {
    await publisher.close();
  }
}

async function measureSize(
  n: number,
  ctx: { worker: Worker; dp: Dataplane; backendPort: number; pem: never },
  bigService = 0,
) {
  const { worker, dp, backendPort } = ctx;
  const base = heapMiB();
  const big = bigService > 0;
  let view = big
    ? generateBigServiceView(bigService, backendPort, ctx.pem)
    : generateView(n, backendPort, ctx.pem);
  const viewHeap = heapMiB();
  const publisher = new BenchPublisher(dp, OPTIONS);
  const cold = publisher.publish(view);
  const liveHeap = heapMiB();
  // Services spread over the view, away from app-0 (the traffic's host).
  const at = (k: number) => 1 + ((k * 7919) % (n - 1));
  const flips = new BigSliceFlips(backendPort);
  const slice = series(publisher, view, (v, k) =>
    big ? flips.next(v, 1 + ((k * 31) % 99)) : withSliceChange(v, at(k), backendPort, 3 + (k % 2) + 1),
  );
  view = slice.view;
  const ingress = series(publisher, view, (v, k) => withIngressChange(v, big ? 0 : at(k), k + 1));
  view = ingress.view;
  // The Service that takes the traffic flips between 3 and 4 endpoints: a real change every time.
  const traffic = await trafficDuringSwaps(
    worker,
    dp,
    (v) => publisher.publish(v),
    (i) =>
      big
        ? withBigSliceChange(view, 0, backendPort, 99 + (i % 2))
        : withSliceChange(view, 0, backendPort, 3 + (i % 2)),
  );
  const ingressTraffic = big ? undefined : await ingressChangesDuringTraffic(worker, dp, view, at);
  return {
    ingresses: big ? `1 (${bigService} ep)` : String(n),
    incremental: publisher.incremental,
    cold,
    viewMiB: viewHeap - base,
    snapshotAndDataplaneMiB: liveHeap - viewHeap,
    sliceChange: slice.stats,
    ingressChange: ingress.stats,
    traffic,
    ingressTraffic,
  };
}

async function main(): Promise<void> {
  if (!gc) console.error('run with node --expose-gc for heap figures after a full GC');
  const worker = new Worker(new URL('./lib/cp-traffic.ts', import.meta.url));
  const dp = new Dataplane(benchDataplaneOptions());
  try {
    const backendPort = await new Promise<number>((resolve) =>
      worker.once('message', (m: { port: number }) => resolve(m.port)),
    );
    const pem = (await makeCertificate()) as never;
    await dp.start();
    const sizes = [];
    for (const n of SIZES) {
      const row = await measureSize(n, { worker, dp, backendPort, pem });
      sizes.push(row);
      console.error(
        `${n} ingresses: cold ${row.cold.totalMs.toFixed(0)} ms, slice change p99 ${row.sliceChange.p99Ms.toFixed(1)} ms`,
      );
    }
    if (BIG_SERVICE > 0) {
      // A fresh dataplane state would be fairer to nothing: the same one keeps pools, as a real swap does.
      sizes.push(await measureSize(1, { worker, dp, backendPort, pem }, BIG_SERVICE));
    }
    printTable(sizes);
    const outDir = join(dirname(new URL(import.meta.url).pathname), 'out');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `control-plane-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      JSON.stringify({ node: process.version, quick: args.quick, changes: CHANGES, sizes }, null, 2),
    );
    console.error(`wrote ${file}`);
  } finally {
    worker.postMessage({ type: 'close' });
    await dp.shutdown({ drainTimeoutMs: 1000 });
    await worker.terminate();
  }
}

type SizeRow = Awaited<ReturnType<typeof measureSize>>;

function printTable(rows: SizeRow[]): void {
  const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  console.log(
    `cold publish (ms) and ${CHANGES} one-object changes (time to live, wall p50/p99 ms, CPU p99 ms); traffic p99 ms`,
  );
  console.log(
    'ingresses  build  finalize  apply  total  view MiB  snap+dp MiB  slice chg p50/p99 (cpu)  slice cpu p50/p99/max  ingress chg p50/p99 (cpu)  p99 idle/swapping  max swapping  held  errors  ingress chg (build thread): live p50  p99/max swapping  held  errors',
  );
  for (const r of rows) {
    const { cold: c, sliceChange: s, ingressChange: i, traffic: t, ingressTraffic: it } = r;
    console.log(
      [
        r.ingresses.padStart(9),
        f(c.buildMs).padStart(5),
        f(c.finalizeMs).padStart(8),
        f(c.applyMs).padStart(5),
        f(c.totalMs).padStart(5),
        f(r.viewMiB).padStart(8),
        f(r.snapshotAndDataplaneMiB).padStart(11),
        `${f(s.p50Ms)}/${f(s.p99Ms)} (${f(s.cpuP99Ms)})`.padStart(23),
        `${f(s.cpuP50Ms)}/${f(s.cpuP99Ms)}/${f(s.cpuMaxMs)}`.padStart(21),
        `${f(i.p50Ms)}/${f(i.p99Ms)} (${f(i.cpuP99Ms)})`.padStart(25),
        `${f(t.idle.p99Ms)}/${f(t.swapping.p99Ms)}`.padStart(17),
        f(t.swapping.maxMs).padStart(12),
        f(t.heldMaxMs).padStart(4),
        String(t.errors).padStart(6),
        it ? f(it.swapP50Ms).padStart(36) : '-'.padStart(36),
        it ? `${f(it.swapping.p99Ms)}/${f(it.swapping.maxMs)}`.padStart(16) : '-'.padStart(16),
        it ? f(it.heldMaxMs).padStart(4) : '-'.padStart(4),
        it ? String(it.errors).padStart(6) : '-'.padStart(6),
      ].join('  '),
    );
  }
  const last = rows.at(-1);
  if (last) {
    const s = last.sliceChange;
    const i = last.ingressChange;
    console.log(
      `at ${last.ingresses}: slice change p50 build ${f(s.buildP50Ms)} + finalize ${f(s.finalizeP50Ms)} + apply ${f(s.applyP50Ms)} ms; ingress change p50 build ${f(i.buildP50Ms)} + finalize ${f(i.finalizeP50Ms)} + apply ${f(i.applyP50Ms)} ms; incremental=${last.incremental}`,
    );
  }
}

await main();
