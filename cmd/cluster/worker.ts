import cluster from 'node:cluster';
import { WorkerStartError } from '../../src/shared/errors.ts';
import { createRegistry } from '../../src/shared/metrics-registry.ts';
import { finalizeSnapshot, type Snapshot, SnapshotHasher } from '../../src/snapshot/index.ts';
import { createDataplaneSide, type DataplaneSide } from '../dataplane-side.ts';
import { createLogger, type ProcessLogger } from '../logger.ts';
import { installCrashLogging } from '../signals.ts';
import type { CollectMessage, DeltaMessage, FromWorker, InitMessage, ToWorker } from './messages.ts';
import { applyDelta } from './snapshot-delta.ts';

/**
 * Entry of a `serve --workers N` dataplane worker (node:cluster sets it as the forked process's main): one
 * Dataplane on the shared listeners, driven entirely by the primary over IPC (messages.ts). Signals are the
 * primary's to handle: it drains every worker on SIGTERM, so a terminal's Ctrl-C reaching the whole process
 * group must not make workers close their listeners before the shutdown delay.
 */
class WorkerRuntime {
  readonly #side: DataplaneSide;
  readonly #log: ProcessLogger;
  readonly #registry;
  // Kept across snapshots: a delta re-hashes only the parts it carries.
  readonly #hasher = new SnapshotHasher();
  #current: Snapshot | undefined;

  constructor(init: InitMessage, log: ProcessLogger) {
    this.#log = log;
    this.#registry = init.config.metrics ? createRegistry() : undefined;
    this.#side = createDataplaneSide(
      init.config,
      Buffer.from(init.affinityKey, 'base64'),
      log,
      this.#registry,
    );
    if (init.snapshot !== undefined) this.apply(init.snapshot);
  }

  async start(): Promise<void> {
    const { dataplane } = this.#side;
    await dataplane.start();
    await send({ t: 'listening', ports: { http: dataplane.ports.http, https: dataplane.ports.https } });
  }

  /** Applies a snapshot received as JSON: re-frozen (and re-hashed) as the dataplane expects. */
  apply(received: Snapshot): void {
    const { version, hash, ...body } = received;
    try {
      this.#live(finalizeSnapshot(body, version, this.#hasher), hash);
    } catch (err) {
      this.#log.logger.error({ err, version }, `snapshot ${version} not applied: ${(err as Error).message}`);
    }
  }

  /** Applies a delta to the live snapshot, or asks the primary for the whole one. */
  applyDelta(m: DeltaMessage): void {
    try {
      const snapshot = applyDelta(this.#current, m, this.#hasher);
      if (snapshot === undefined) {
        void send({ t: 'resync' });
        return;
      }
      this.#live(snapshot, m.hash);
    } catch (err) {
      this.#log.logger.error(
        { err, version: m.version },
        `delta ${m.version} not applied: ${(err as Error).message}`,
      );
      void send({ t: 'resync' });
    }
  }

  #live(snapshot: Snapshot, hash: string): void {
    if (snapshot.hash !== hash) {
      this.#log.logger.error(
        { version: snapshot.version, hash, computed: snapshot.hash },
        'snapshot hash mismatch over IPC',
      );
    }
    this.#side.dataplane.apply(snapshot);
    // Deltas name the primary's hash as their base; keep that one even on a (logged) mismatch.
    this.#current = snapshot.hash === hash ? snapshot : undefined;
    void send({ t: 'applied', version: snapshot.version });
  }

  async collect(m: CollectMessage): Promise<void> {
    const observability = this.#side.observability;
    if (m.what === 'stats') {
      void send({ t: 'collected', id: m.id, ...(observability ? { stats: observability.report() } : {}) });
      return;
    }
    observability?.dataplane.sync();
    const metrics = this.#registry ? await this.#registry.getMetricsAsJSON() : [];
    void send({ t: 'collected', id: m.id, metrics });
  }

  async shutdown(drainTimeoutMs: number): Promise<never> {
    await this.#side.dataplane.shutdown({ drainTimeoutMs });
    await this.#side.close();
    this.#log.flushSync();
    process.exit(0);
  }
}

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

function onMessage(runtime: WorkerRuntime, m: ToWorker): void {
  switch (m.t) {
    case 'snapshot':
      runtime.apply(m.snapshot);
      return;
    case 'delta':
      runtime.applyDelta(m);
      return;
    case 'collect':
      void runtime.collect(m);
      return;
    case 'shutdown':
      void runtime.shutdown(m.drainTimeoutMs);
      return;
    case 'init':
      return;
  }
}

async function start(runtime: WorkerRuntime, log: ProcessLogger): Promise<void> {
  try {
    await runtime.start();
  } catch (err) {
    log.logger.fatal({ err }, `worker start failed: ${(err as Error).message}`);
    log.flushSync();
    await send({ t: 'failed', message: (err as Error).message });
    process.exit(1);
  }
}

function main(): void {
  if (!cluster.isWorker)
    throw new WorkerStartError('cmd/cluster/worker.ts runs only as a node:cluster worker');
  process.on('SIGTERM', () => {});
  process.on('SIGINT', () => {});
  let runtime: WorkerRuntime | undefined;
  // One listener from the start: IPC may deliver init and the next snapshot in the same tick.
  process.on('message', (m: ToWorker) => {
    if (runtime !== undefined) {
      onMessage(runtime, m);
    } else if (m.t === 'init') {
      const log = createLogger(m.logLevel);
      installCrashLogging(log);
      runtime = new WorkerRuntime(m, log);
      void start(runtime, log);
    }
  });
}

main();
