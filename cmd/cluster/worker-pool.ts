import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { WorkerStartError } from '../../src/shared/errors.ts';
import type { Snapshot } from '../../src/snapshot/index.ts';
import type { CollectedMessage, CollectMessage, FromWorker, InitMessage, ToWorker } from './messages.ts';
import { snapshotDelta } from './snapshot-delta.ts';

/** Options of WorkerPool. */
export interface WorkerPoolOptions {
  count: number;
  /** Sent to every worker right after fork (the live snapshot is added for replacements). */
  init: Omit<InitMessage, 't' | 'snapshot'>;
  logger: Logger;
  /** Called once per version when every listening worker has applied it. */
  onApplied?: (version: number) => void;
  /** Restart backoff after a worker died: `minMs` doubling per quick death, at most `maxMs`. */
  restart?: { minMs: number; maxMs: number };
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  listening: boolean;
  applied: number;
  startedAt: number;
  /** Consecutive deaths within STABLE_MS of starting; drives the backoff. */
  quickDeaths: number;
  timer: NodeJS.Timeout | undefined;
}

/** A worker that lived this long is considered healthy again: its next death restarts at the minimum delay. */
const STABLE_MS = 10_000;
/** Sibling module: worker.ts from source, worker.js once compiled to dist/ (the container image). */
const WORKER_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url),
);

/**
 * The dataplane workers of `serve --workers N`: forks them, sends each every snapshot version once, tracks
 * what each applied, restarts a worker that died (with backoff) and drains them all on close().
 */
export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #slots: Slot[];
  #snapshot: Snapshot | undefined;
  #announced = 0;
  #closing = false;
  #nextId = 1;
  #pending = new Map<number, (m: CollectedMessage | undefined) => void>();
  #starting: { resolve(): void; reject(err: Error): void } | undefined;
  #ports = { http: 0, https: 0 };

  constructor(options: WorkerPoolOptions) {
    this.#o = options;
    this.#slots = Array.from({ length: options.count }, (_, index) => ({
      index,
      worker: undefined,
      listening: false,
      applied: 0,
      startedAt: 0,
      quickDeaths: 0,
      timer: undefined,
    }));
  }

  /** The ports the workers share (after start()). */
  get ports(): { readonly http: number; readonly https: number } {
    return this.#ports;
  }

  /** Every listening worker serves a snapshot (it applied at least the first), and at least one listens. */
  get ready(): boolean {
    const live = this.#slots.filter((s) => s.listening);
    return live.length > 0 && live.every((s) => s.applied > 0);
  }

  /** Process ids of the running workers. */
  get pids(): number[] {
    return this.#slots.flatMap((s) => (s.worker?.process.pid === undefined ? [] : [s.worker.process.pid]));
  }

  /** Forks every worker; resolves once all listen, rejects when one fails to start (a port in use). */
  start(): Promise<void> {
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], silent: false });
    return new Promise((resolve, reject) => {
      this.#starting = { resolve, reject };
      for (const slot of this.#slots) this.#fork(slot);
    });
  }

  /** Sends `snapshot` to every worker (once per version; a replacement gets the live one in its init). */
  broadcast(snapshot: Snapshot): void {
    // Every change after the first goes as a delta (snapshot-delta.ts); a worker it does not fit asks to resync.
    const delta = snapshotDelta(this.#snapshot, snapshot);
    this.#snapshot = snapshot;
    const message: ToWorker = delta !== undefined ? { t: 'delta', ...delta } : { t: 'snapshot', snapshot };
    for (const slot of this.#slots) {
      if (slot.worker?.isConnected()) slot.worker.send(message);
    }
  }

  /** Asks every listening worker for its metrics or stats; a worker that does not answer in time is left out. */
  async collect(
    what: CollectMessage['what'],
    timeoutMs: number,
  ): Promise<{ pid: number; m: CollectedMessage }[]> {
    const asks = this.#slots.flatMap((slot) => {
      const worker = slot.worker;
      if (!slot.listening || worker === undefined || !worker.isConnected()) return [];
      const id = this.#nextId++;
      const answer = new Promise<CollectedMessage | undefined>((resolve) => {
        const timer = setTimeout(() => settle(undefined), timeoutMs);
        const settle = (m: CollectedMessage | undefined) => {
          clearTimeout(timer);
          this.#pending.delete(id);
          resolve(m);
        };
        this.#pending.set(id, settle);
      });
      worker.send({ t: 'collect', id, what } satisfies CollectMessage);
      return [answer.then((m) => (m === undefined ? [] : [{ pid: worker.process.pid ?? 0, m }]))];
    });
    return (await Promise.all(asks)).flat();
  }

  /** Stops restarting, asks every worker to drain for `drainTimeoutMs`, and waits until all have exited. */
  async close(drainTimeoutMs: number): Promise<void> {
    this.#closing = true;
    const exits: Promise<void>[] = [];
    for (const slot of this.#slots) {
      clearTimeout(slot.timer);
      const worker = slot.worker;
      if (worker === undefined) continue;
      exits.push(new Promise((resolve) => worker.once('exit', () => resolve())));
      if (worker.isConnected()) worker.send({ t: 'shutdown', drainTimeoutMs });
      // A worker stuck past its own deadline is not worth waiting for.
      const kill = setTimeout(() => worker.process.kill('SIGKILL'), drainTimeoutMs + 5_000);
      worker.once('exit', () => clearTimeout(kill));
    }
    await Promise.all(exits);
  }

  #fork(slot: Slot): void {
    slot.timer = undefined;
    const worker = cluster.fork();
    slot.worker = worker;
    slot.listening = false;
    slot.applied = 0;
    slot.startedAt = Date.now();
    const init: InitMessage = {
      t: 'init',
      ...this.#o.init,
      ...(this.#snapshot ? { snapshot: this.#snapshot } : {}),
    };
    worker.send(init);
    worker.on('message', (m: FromWorker) => this.#onMessage(slot, m));
    worker.once('exit', (code, signal) => this.#onExit(slot, worker, code, signal));
    this.#o.logger.info({ worker: slot.index, workerPid: worker.process.pid }, 'worker started');
  }

  #onMessage(slot: Slot, m: FromWorker): void {
    switch (m.t) {
      case 'listening':
        slot.listening = true;
        this.#ports = m.ports;
        if (this.#starting && this.#slots.every((s) => s.listening)) {
          this.#starting.resolve();
          this.#starting = undefined;
        }
        return;
      case 'applied':
        slot.applied = Math.max(slot.applied, m.version);
        this.#announce();
        return;
      case 'collected':
        this.#pending.get(m.id)?.(m);
        return;
      case 'resync':
        if (this.#snapshot !== undefined && slot.worker?.isConnected()) {
          slot.worker.send({ t: 'snapshot', snapshot: this.#snapshot });
        }
        return;
      case 'failed':
        // Its exit follows; #onExit then sees #starting and does not restart it.
        this.#starting?.reject(new WorkerStartError(`dataplane worker failed to start: ${m.message}`));
        return;
    }
  }

  /** Reports a version once every listening worker has it. */
  #announce(): void {
    const live = this.#slots.filter((s) => s.listening);
    if (live.length === 0) return;
    const min = Math.min(...live.map((s) => s.applied));
    if (min > this.#announced) {
      this.#announced = min;
      this.#o.onApplied?.(min);
    }
  }

  #onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.listening = false;
    const pid = worker.process.pid;
    if (this.#closing) return;
    if (this.#starting) {
      this.#starting.reject(
        new WorkerStartError(`dataplane worker ${pid} exited during start-up (code ${code}, ${signal})`),
      );
      this.#starting = undefined;
      return;
    }
    const lived = Date.now() - slot.startedAt;
    slot.quickDeaths = lived >= STABLE_MS ? 0 : slot.quickDeaths + 1;
    const { minMs, maxMs } = this.#o.restart ?? { minMs: 100, maxMs: 10_000 };
    const delayMs = Math.min(maxMs, minMs * 2 ** Math.max(0, slot.quickDeaths - 1));
    this.#o.logger.error(
      { worker: slot.index, workerPid: pid, code, signal, livedMs: lived, restartInMs: delayMs },
      `dataplane worker ${pid} died (${signal ?? `code ${code}`}); restarting in ${delayMs}ms`,
    );
    slot.timer = setTimeout(() => this.#fork(slot), delayMs);
  }
}
