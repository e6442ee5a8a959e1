import { performance } from 'node:perf_hooks';
import { finalizeSnapshot, SnapshotHasher } from '../snapshot/hash.ts';
import type { Snapshot } from '../snapshot/types.ts';
import { BuildCache, type BuildResult, build } from './build/index.ts';
import type { BuildOptions, ClusterView } from './view.ts';

/** What one publish produced; `snapshot` is the one now live (new or unchanged). */
export interface PublishResult {
  snapshot: Snapshot;
  changed: boolean;
  result: BuildResult;
  buildMs: number;
}

/**
 * What a view source (manifest folder, cluster controller) needs of a publisher: SnapshotPublisher (builds in
 * the calling thread) and ThreadedPublisher (builds in the build thread; resolves once applied) satisfy it.
 */
export interface Publisher {
  publish(view: ClusterView): PublishResult | Promise<PublishResult>;
}

/**
 * Turns views into versioned snapshots: builds, stamps a version only when the content hash changed, and
 * hands new snapshots to `apply`. Shared by standalone mode and the cluster controller. One caller at a time.
 */
export class SnapshotPublisher {
  #version = 0;
  #current: Snapshot | undefined;
  readonly #options: BuildOptions;
  readonly #apply: (snapshot: Snapshot) => void;
  // Kept across publishes: a change rebuilds and rehashes only what it touched.
  readonly #cache = new BuildCache();
  readonly #hasher = new SnapshotHasher();

  /** `version`: the last version already handed out (a restarted build thread continues after it). */
  constructor(options: BuildOptions, apply: (snapshot: Snapshot) => void, version = 0) {
    this.#options = options;
    this.#apply = apply;
    this.#version = version;
  }

  /** The last snapshot handed to `apply`, if any. */
  get current(): Snapshot | undefined {
    return this.#current;
  }

  publish(view: ClusterView): PublishResult {
    const started = performance.now();
    const result = build(view, this.#options, this.#cache);
    const candidate = finalizeSnapshot(result.body, this.#version + 1, this.#hasher);
    const buildMs = performance.now() - started;
    if (this.#current && this.#current.hash === candidate.hash) {
      return { snapshot: this.#current, changed: false, result, buildMs };
    }
    this.#version += 1;
    this.#current = candidate;
    this.#apply(candidate);
    return { snapshot: candidate, changed: true, result, buildMs };
  }
}
