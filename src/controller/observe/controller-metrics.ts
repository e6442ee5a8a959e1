import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../../shared/metrics-registry.ts';
import type { BuildInfo, ControllerObserver, WatchedKind } from '../k8s/observer.ts';

/**
 * The configuration side's ControllerObserver (the interface the controller owns) backed by Prometheus metrics in `registry`: configuration (snapshot version, builds,
 * build duration, last swap, invalid objects) and controller health (informer restarts, API errors, leader).
 */
export class ControllerMetrics implements ControllerObserver {
  readonly #informerRestarts: Counter<'kind'>;
  readonly #apiErrors: Counter<'kind' | 'code'>;
  readonly #leader: Gauge;
  readonly #version: Gauge;
  readonly #builds: Counter<'changed'>;
  readonly #buildSeconds: Histogram;
  readonly #lastSwap: Gauge;
  readonly #invalid: Gauge<'kind'>;
  /** Kinds reported invalid so far, so a kind that became clean is set to 0 rather than left stale. */
  readonly #invalidKinds = new Set<string>();

  constructor(registry: Registry) {
    const registers = [registry];
    const p = METRIC_PREFIX;
    this.#informerRestarts = new Counter({
      name: `${p}controller_informer_restarts_total`,
      help: 'Informer re-lists after a failed or expired watch, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.#apiErrors = new Counter({
      name: `${p}controller_api_errors_total`,
      help: 'Failed Kubernetes API calls, by operation (kind label, e.g. "watch Ingress") and HTTP status or error code.',
      labelNames: ['kind', 'code'],
      registers,
    });
    this.#leader = new Gauge({
      name: `${p}controller_leader`,
      help: '1 while this replica holds the leader lease (writes status and Events), else 0.',
      registers,
    });
    this.#version = new Gauge({
      name: `${p}config_snapshot_version`,
      help: 'Version of the configuration snapshot the dataplane serves.',
      registers,
    });
    this.#builds = new Counter({
      name: `${p}config_builds_total`,
      help: 'Configuration builds; changed="false" when the result equalled the live snapshot.',
      labelNames: ['changed'],
      registers,
    });
    this.#buildSeconds = new Histogram({
      name: `${p}config_build_duration_seconds`,
      help: 'Time to build a snapshot from the cluster view.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#lastSwap = new Gauge({
      name: `${p}config_last_swap_timestamp_seconds`,
      help: 'Unix time of the last configuration swap in the dataplane.',
      registers,
    });
    this.#invalid = new Gauge({
      name: `${p}config_invalid_objects`,
      help: 'Objects the last build skipped as invalid, by kind.',
      labelNames: ['kind'],
      registers,
    });
    this.#leader.set(0);
  }

  informerRestart(kind: WatchedKind): void {
    this.#informerRestarts.inc({ kind });
  }

  apiError(operation: string, code: number | string): void {
    this.#apiErrors.inc({ kind: operation, code: String(code) });
  }

  leader(isLeader: boolean): void {
    this.#leader.set(isLeader ? 1 : 0);
  }

  build({ durationMs, changed, version }: BuildInfo): void {
    this.#builds.inc({ changed: changed ? 'true' : 'false' });
    if (Number.isFinite(durationMs) && durationMs >= 0) this.#buildSeconds.observe(durationMs / 1000);
    this.#version.set(version);
  }

  invalidObjects(countsByKind: Record<string, number>): void {
    for (const kind of this.#invalidKinds) {
      if (!(kind in countsByKind)) this.#invalid.set({ kind }, 0);
    }
    for (const [kind, count] of Object.entries(countsByKind)) {
      this.#invalidKinds.add(kind);
      this.#invalid.set({ kind }, count);
    }
  }

  swap(version: number, at: Date): void {
    this.#version.set(version);
    this.#lastSwap.set(at.getTime() / 1000);
  }
}
