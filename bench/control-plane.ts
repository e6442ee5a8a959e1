/**
 * `npm run bench:control` (node --expose-gc bench/control-plane.ts [--quick]): build() + finalizeSnapshot +
 * dataplane.apply() time and heap at 100 / 1,000 / 10,000 Ingresses, one EndpointSlice change at the
 * largest size, and the latency of live HTTP traffic (own thread) while snapshots are swapped.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { build } from '../src/controller/build/index.ts';
import type { ClusterView } from '../src/controller/view.ts';
import { Dataplane } from '../src/dataplane/dataplane.ts';
import { finalizeSnapshot } from '../src/snapshot/hash.ts';
import { makeCertificate } from './lib/configs.ts';
import { generateView, withSliceChange } from './lib/cp-view.ts';
import { percentile } from './lib/stats.ts';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const SIZES = args.quick ? [100, 1000] : [100, 1000, 10_000];
const TRAFFIC_SECONDS = args.quick ? 3 : 6;
const OPTIONS = { ingressClass: 'sticky' };
const gc = (globalThis as { gc?: () => void }).gc;

let version = 0;

function heapMiB(): number {
  gc?.();
  return process.memoryUsage().heapUsed / 1048576;
}

/** One full publish: build, stamp, apply; times in ms. */
function publish(dp: Dataplane, view: ClusterView) {
  const t0 = performance.now();
  const result = build(view, OPTIONS);
  const t1 = performance.now();
  const snapshot = finalizeSnapshot(result.body, ++version);
  const t2 = performance.now();
  const changed = dp.apply(snapshot);
  const t3 = performance.now();
  return {
    buildMs: t1 - t0,
    finalizeMs: t2 - t1,
    applyMs: t3 - t2,
    totalMs: t3 - t0,
    changed,
    hosts: snapshot.hosts.length,
    diagnostics: result.diagnostics.length,
  };
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

/** Live traffic to `app-0.bench` for TRAFFIC_SECONDS; after the first third, swap snapshots back to back. */
async function trafficDuringSwaps(worker: Worker, dp: Dataplane, view: ClusterView, backendPort: number) {
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
  for (let i = 0; performance.timeOrigin + performance.now() < end; i++) {
    // The Service that takes the traffic flips between 3 and 4 endpoints: a real change every time.
    swapMs.push(publish(dp, withSliceChange(view, 0, backendPort, 3 + (i % 2))).totalMs);
    await sleep(100); // let the dataplane breathe: swaps come from a holdoff, never back to back
  }
  const { samples, errors } = await done;
  return { swaps: swapMs.length, swapP50Ms: percentile(swapMs, 50), errors, ...split(samples, firstSwapAt) };
}

async function main(): Promise<void> {
  if (!gc) console.error('run with node --expose-gc for heap figures after a full GC');
  const worker = new Worker(new URL('./lib/cp-traffic.ts', import.meta.url));
  const dp = new Dataplane({
    bindAddress: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    affinityKey: randomBytes(32),
    trustedProxies: [],
    maxHeaderSize: 16_384,
    requestHeaderTimeoutMs: 10_000,
    keepAliveTimeoutMs: 60_000,
    logger: pino({ level: 'silent' }),
  });
  try {
    const backendPort = await new Promise<number>((resolve) =>
      worker.once('message', (m: { port: number }) => resolve(m.port)),
    );
    const pem = await makeCertificate();
    await dp.start();
    const base = heapMiB();
    const sizes = [];
    let last: { view: ClusterView; n: number } | undefined;
    for (const n of SIZES) {
      last = undefined; // drop the previous view before measuring this one
      const view = generateView(n, backendPort, pem);
      const viewHeap = heapMiB();
      const cold = publish(dp, view);
      const liveHeap = heapMiB();
      const traffic = await trafficDuringSwaps(worker, dp, view, backendPort);
      sizes.push({
        ingresses: n,
        ...cold,
        viewMiB: viewHeap - base,
        snapshotAndDataplaneMiB: liveHeap - viewHeap,
        traffic,
      });
      console.error(
        `${n} ingresses: publish ${cold.totalMs.toFixed(0)} ms, swaps p50 ${traffic.swapP50Ms.toFixed(1)} ms`,
      );
      last = { view, n };
    }
    const sliceChange = last
      ? publish(dp, withSliceChange(last.view, last.n >> 1, backendPort, 4))
      : undefined;
    printTable(sizes, sliceChange, last?.n ?? 0);
    const outDir = join(dirname(new URL(import.meta.url).pathname), 'out');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `control-plane-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      JSON.stringify({ node: process.version, quick: args.quick, sizes, sliceChange }, null, 2),
    );
    console.error(`wrote ${file}`);
  } finally {
    worker.postMessage({ type: 'close' });
    await dp.shutdown({ drainTimeoutMs: 1000 });
    await worker.terminate();
  }
}

type SizeRow = ReturnType<typeof publish> & {
  ingresses: number;
  viewMiB: number;
  snapshotAndDataplaneMiB: number;
  traffic: Awaited<ReturnType<typeof trafficDuringSwaps>>;
};

function printTable(rows: SizeRow[], slice: ReturnType<typeof publish> | undefined, n: number): void {
  const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  console.log(
    'ingresses  build ms  finalize ms  apply ms  total ms  view MiB  snapshot+dp MiB  swap p50 ms  p99 idle / swapping ms  max swapping ms  errors',
  );
  for (const r of rows) {
    const t = r.traffic;
    console.log(
      [
        String(r.ingresses).padStart(9),
        f(r.buildMs).padStart(8),
        f(r.finalizeMs).padStart(11),
        f(r.applyMs).padStart(8),
        f(r.totalMs).padStart(8),
        f(r.viewMiB).padStart(8),
        f(r.snapshotAndDataplaneMiB).padStart(15),
        f(t.swapP50Ms).padStart(11),
        `${f(t.idle.p99Ms)} / ${f(t.swapping.p99Ms)}`.padStart(23),
        f(t.swapping.maxMs).padStart(15),
        String(t.errors).padStart(6),
      ].join('  '),
    );
  }
  if (slice) {
    console.log(
      `one EndpointSlice change at ${n} Ingresses: ${f(slice.totalMs)} ms to live (build ${f(slice.buildMs)}, finalize ${f(slice.finalizeMs)}, apply ${f(slice.applyMs)}; changed=${slice.changed})`,
    );
  }
}

await main();
