import { performance } from 'node:perf_hooks';
import * as builder from '../../src/controller/build/index.ts';
import type { BuildOptions, ClusterView } from '../../src/controller/view.ts';
import type { Dataplane } from '../../src/dataplane/dataplane.ts';
import * as hashing from '../../src/snapshot/hash.ts';
import { percentile } from './stats.ts';

/** Times of one publish (view -> live snapshot), wall and CPU (this thread's process, worker idle). */
export interface PublishTimes {
  buildMs: number;
  finalizeMs: number;
  applyMs: number;
  totalMs: number;
  cpuMs: number;
  changed: boolean;
}

// The long-lived build cache when the builder has one (older trees: plain full builds), so the same bench
// file measures before and after.
type CacheCtor = new () => unknown;
type Hasher = new () => unknown;
const HasherCtor = (hashing as unknown as { SnapshotHasher?: Hasher }).SnapshotHasher;
const finalize = hashing.finalizeSnapshot as (
  body: unknown,
  version: number,
  hasher?: unknown,
) => ReturnType<typeof hashing.finalizeSnapshot>;
const BuildCacheCtor = (builder as unknown as { BuildCache?: CacheCtor }).BuildCache;
const buildFn = builder.build as (
  view: ClusterView,
  options: BuildOptions,
  cache?: unknown,
) => builder.BuildResult;

/** Publishes views to one dataplane the way SnapshotPublisher does, with per-step times. */
export class BenchPublisher {
  #dp: Dataplane;
  #options: BuildOptions;
  #cache: unknown;
  #hasher: unknown;
  #version = 0;

  constructor(dp: Dataplane, options: BuildOptions) {
    this.#dp = dp;
    this.#options = options;
    this.#cache = BuildCacheCtor ? new BuildCacheCtor() : undefined;
    this.#hasher = HasherCtor ? new HasherCtor() : undefined;
  }

  get incremental(): boolean {
    return this.#cache !== undefined;
  }

  publish(view: ClusterView): PublishTimes {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = buildFn(view, this.#options, this.#cache);
    const t1 = performance.now();
    const snapshot = finalize(result.body, ++this.#version, this.#hasher);
    const t2 = performance.now();
    const changed = this.#dp.apply(snapshot);
    const t3 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    return {
      buildMs: t1 - t0,
      finalizeMs: t2 - t1,
      applyMs: t3 - t2,
      totalMs: t3 - t0,
      cpuMs: (cpu.user + cpu.system) / 1000,
      changed,
    };
  }
}

/** p50/p99 of wall and CPU time over a series of publishes; `changed` counts real swaps. */
export function summarize(runs: readonly PublishTimes[]) {
  const wall = runs.map((r) => r.totalMs);
  const cpu = runs.map((r) => r.cpuMs);
  return {
    changes: runs.length,
    swapped: runs.filter((r) => r.changed).length,
    p50Ms: percentile(wall, 50),
    p99Ms: percentile(wall, 99),
    cpuP50Ms: percentile(cpu, 50),
    cpuP99Ms: percentile(cpu, 99),
    cpuMaxMs: percentile(cpu, 100),
    buildP50Ms: percentile(
      runs.map((r) => r.buildMs),
      50,
    ),
    finalizeP50Ms: percentile(
      runs.map((r) => r.finalizeMs),
      50,
    ),
    applyP50Ms: percentile(
      runs.map((r) => r.applyMs),
      50,
    ),
  };
}
