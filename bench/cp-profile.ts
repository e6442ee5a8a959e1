/**
 * Where a change spends its CPU (issue 13 item 3), without the rest of bench:control:
 * `node --expose-gc bench/cp-profile.ts --case ingresses|big|addremove|ingress|app|secret [--changes 60]
 * [--profile FILE]`. Builds 10,000 Ingresses (every case but `big`) or one Service of 10,000 endpoints in
 * slices of 100 (`big`), publishes it to a started Dataplane, then publishes one change at a time and prints
 * process CPU per stage (build, finalize, apply) p50/p99/max. The change: `ingresses` and `big` an
 * EndpointSlice replaced; `addremove` one removed, then put back; `ingress` one Ingress's annotation edited
 * (a non-endpoint change); `app` a whole Ingress with its Service, slice and TLS Secret added (a new host,
 * backend and certificate), then removed; `secret` one TLS Secret renewed (another certificate under the same
 * Secret). `--profile` writes a .cpuprofile of the changes only (read it with profile-top.ts).
 * Run it with the image's node flags (Dockerfile NODE_OPTIONS, `node --max-semi-space-size=16 ...`): the
 * young generation's size decides how long a scavenge holds the serving thread.
 * `--threaded`: build and finalize run in the build thread (ThreadedPublisher, what `serve` does); it prints
 * the serving thread's busy time per change (event-loop utilisation) and the longest the loop was held.
 * Either way it prints the process's RSS once the view is live. `--ingresses N`: N instead of 10,000.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BuildCache, build } from '../src/controller/build/index.ts';
import { ThreadedPublisher } from '../src/controller/build-thread/threaded-publisher.ts';
import type { ClusterView } from '../src/controller/view.ts';
import { Dataplane } from '../src/dataplane/dataplane.ts';
import { finalizeSnapshot, SnapshotHasher } from '../src/snapshot/index.ts';
import { makeCertificate } from './lib/configs.ts';
import {
  BigSliceFlips,
  endpointSlice,
  generateBigServiceView,
  generateView,
  type Pem,
  withAppAdded,
  withAppRemoved,
  withIngressChange,
  withSecretRotated,
  withSliceChange,
} from './lib/cp-view.ts';
import { benchDataplaneOptions } from './lib/dataplane-options.ts';
import { loopHeldProbe, percentile } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    case: { type: 'string', default: 'ingresses' },
    changes: { type: 'string', default: '60' },
    profile: { type: 'string' },
    threaded: { type: 'boolean', default: false },
    ingresses: { type: 'string', default: '10000' },
  },
});
const N = Number(args.ingresses);
const PORT = 9; // never connected to: no traffic in this bench
const OPTIONS = { ingressClass: 'sticky', allowLoopbackEndpoints: true };

// The certificates `secret` alternates between, and which one each rotated Secret holds now.
const pems: Pem[] = [];
const rotated = new Map<number, number>();
const bigFlips = new BigSliceFlips(PORT);

/** The k-th change of the chosen case, from `view`. */
function change(view: ClusterView, k: number): ClusterView {
  if (args.case === 'app') {
    const i = N + (k >> 1);
    return k % 2 === 0 ? withAppAdded(view, i, PORT, pems[0] as Pem) : withAppRemoved(view, i);
  }
  if (args.case === 'secret') {
    const i = 1 + ((k * 7919) % (N - 1));
    const next = 1 - (rotated.get(i) ?? 0);
    rotated.set(i, next);
    return withSecretRotated(view, i, pems[next] as Pem);
  }
  // Each change really changes its slice (every second one used to set 100 on a slice that had 100).
  if (args.case === 'big') return bigFlips.next(view, 1 + ((k * 31) % 99));
  if (args.case === 'ingress') return withIngressChange(view, 1 + ((k * 7919) % (N - 1)), k + 10);
  const i = 1 + (((k >> (args.case === 'addremove' ? 1 : 0)) * 7919) % (N - 1));
  if (args.case !== 'addremove') return withSliceChange(view, i, PORT, 3 + (k % 2) + 1);
  const slices = view.endpointSlices.slice();
  if (k % 2 === 0) slices.splice(i, 1);
  else slices.splice(i, 0, endpointSlice(`ns-${i % 50}`, `app-${i}`, PORT, 3) as (typeof slices)[number]);
  return { ...view, endpointSlices: slices };
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const dp = new Dataplane(benchDataplaneOptions());
await dp.start();
if (args.threaded) {
  try {
    await threaded();
  } finally {
    await dp.shutdown({ drainTimeoutMs: 100 });
  }
  process.exit(0);
}
try {
  pems.push(await makeCertificate());
  if (args.case === 'secret') pems.push(await makeCertificate());
  const pem = pems[0] as Pem;
  let view = args.case === 'big' ? generateBigServiceView(N, PORT, pem) : generateView(N, PORT, pem);
  const cache = new BuildCache();
  const hasher = new SnapshotHasher();
  let version = 0;
  const publish = (v: ClusterView) => {
    const c0 = cpu();
    const result = build(v, OPTIONS, cache);
    const c1 = cpu();
    const snapshot = finalizeSnapshot(result.body, ++version, hasher);
    const c2 = cpu();
    dp.apply(snapshot);
    const c3 = cpu();
    return { build: c1 - c0, finalize: c2 - c1, apply: c3 - c2, total: c3 - c0 };
  };
  publish(view);
  for (let k = 0; k < 4; k++) {
    view = change(view, 1_000 + 2 * k);
    publish(view);
  }
  (globalThis as { gc?: () => void }).gc?.();
  printMemory('in the serving thread');
  const session = new Session();
  session.connect();
  if (args.profile) {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const runs = [];
  for (let k = 0; k < Number(args.changes); k++) {
    view = change(view, k);
    runs.push(publish(view));
  }
  if (args.profile)
    writeFileSync(args.profile, JSON.stringify((await session.post('Profiler.stop')).profile));
  session.disconnect();
  for (const stage of ['build', 'finalize', 'apply', 'total'] as const) {
    const v = runs.map((r) => r[stage]);
    const [p50, p99, max] = [50, 99, 100].map((p) => percentile(v, p).toFixed(2));
    console.log(`${args.case} ${stage.padEnd(8)} process CPU ms p50 ${p50}  p99 ${p99}  max ${max}`);
  }
} finally {
  await dp.shutdown({ drainTimeoutMs: 100 });
}

/** The process's resident memory once the view is live (the build thread's heap is in the same process). */
function printMemory(mode: string): void {
  const m = process.memoryUsage();
  const mib = (b: number) => (b / 1_048_576).toFixed(0);
  console.log(
    `${args.case} memory ${mode}: RSS ${mib(m.rss)} MiB, serving thread's heap used ${mib(m.heapUsed)} MiB`,
  );
}

// The serving thread's share of a change with the build thread: busy time (event-loop utilisation between
// publish and applied) and the longest gap a 1 ms timer saw (the longest the loop was held in one go).
async function threaded(): Promise<void> {
  pems.push(await makeCertificate());
  if (args.case === 'secret') pems.push(await makeCertificate());
  const pem = pems[0] as Pem;
  let view = args.case === 'big' ? generateBigServiceView(N, PORT, pem) : generateView(N, PORT, pem);
  let applyMs = 0;
  const publisher = new ThreadedPublisher(OPTIONS, (snapshot) => {
    const t = performance.now();
    dp.apply(snapshot);
    applyMs = performance.now() - t;
  });
  try {
    await publisher.publish(view);
    for (let k = 0; k < 4; k++) {
      view = change(view, 1_000 + 2 * k);
      await publisher.publish(view);
    }
    (globalThis as { gc?: () => void }).gc?.();
    // The thread collects on its own schedule: its heap may hold garbage a forced collection here cannot reach.
    printMemory('with the build thread');
    const runs: { busy: number; held: number; apply: number; live: number }[] = [];
    for (let k = 0; k < Number(args.changes); k++) {
      view = change(view, k);
      const probe = loopHeldProbe();
      const elu = performance.eventLoopUtilization();
      const t0 = performance.now();
      applyMs = 0;
      await publisher.publish(view);
      const live = performance.now() - t0;
      const used = performance.eventLoopUtilization(elu);
      runs.push({ busy: used.active, held: probe.stop(), apply: applyMs, live });
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const stage of ['busy', 'held', 'apply', 'live'] as const) {
      const v = runs.map((r) => r[stage]);
      const [p50, p99, max] = [50, 99, 100].map((p) => percentile(v, p).toFixed(2));
      console.log(`${args.case} threaded ${stage.padEnd(5)} ms p50 ${p50}  p99 ${p99}  max ${max}`);
    }
  } finally {
    await publisher.close();
  }
}
