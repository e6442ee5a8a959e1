import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { BuildThreadError } from '../../shared/errors.ts';
import { applySnapshotChanges } from '../../snapshot/delta.ts';
import { emptySnapshot } from '../../snapshot/hash.ts';
import type { Snapshot } from '../../snapshot/types.ts';
import type { PublishResult } from '../publisher.ts';
import type { BuildOptions, ClusterView } from '../view.ts';
import type { BuildReply, BuildRequest, BuildThreadInit } from './messages.ts';
import { ResultReceiver } from './result-delta.ts';
import { ViewDiffer } from './view-delta.ts';

// The entry next to this module, in whichever form this one runs (.ts from source, .js from dist/).
const ENTRY = new URL(`./worker-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

type Pending = { worker: Worker; resolve: (reply: BuildReply) => void; reject: (err: Error) => void };

/**
 * SnapshotPublisher's work off the serving thread (issue 13 item 3): build and finalize run in a worker
 * thread; this thread sends the objects that changed (view-delta.ts) and applies what comes back as changes
 * (SnapshotChanges: only new parts are parsed and frozen; unchanged ones stay the live snapshot's objects, so
 * the dataplane's apply costs what changed). Publishes run one at a time, in call order. If the thread fails,
 * the publish rejects (BuildThreadError), the live snapshot stays, and the next publish starts a new thread
 * with the whole view.
 */
export class ThreadedPublisher {
  readonly #options: BuildOptions;
  readonly #apply: (snapshot: Snapshot) => void;
  readonly #differ = new ViewDiffer();
  readonly #results = new ResultReceiver();
  #worker: Worker | undefined;
  /** What the build thread's changes are made against: the live snapshot, or empty for a new thread. */
  #base: Snapshot = emptySnapshot();
  #current: Snapshot | undefined;
  #pending = new Map<number, Pending>();
  #ids = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(options: BuildOptions, apply: (snapshot: Snapshot) => void) {
    this.#options = options;
    this.#apply = apply;
  }

  /** The last snapshot handed to `apply`, if any. */
  get current(): Snapshot | undefined {
    return this.#current;
  }

  /** Builds `view` in the build thread and applies the outcome here; resolves once applied. */
  publish(view: ClusterView): Promise<PublishResult> {
    const run = this.#queue.then(() => this.#publish(view));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Stops the build thread; publishes after this reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
    this.#rejectPending(new BuildThreadError('the build thread is closed'));
    await this.#queue;
  }

  async #publish(view: ClusterView): Promise<PublishResult> {
    if (this.#closed) throw new BuildThreadError('the build thread is closed');
    const worker = this.#worker ?? this.#start();
    const id = ++this.#ids;
    const request: BuildRequest = { id, view: this.#differ.next(view) };
    const reply = await new Promise<BuildReply>((resolve, reject) => {
      this.#pending.set(id, { worker, resolve, reject });
      try {
        worker.postMessage(request);
      } catch (err) {
        // An object that cannot be cloned (never from the store): the thread's copy is now unknown.
        this.#pending.delete(id);
        this.#restart();
        reject(new BuildThreadError(`view not sent to the build thread: ${(err as Error).message}`));
      }
    });
    if (!reply.ok) {
      this.#restart();
      throw new BuildThreadError(`build failed in the build thread: ${reply.message}`);
    }
    const started = performance.now();
    let snapshot = this.#current ?? this.#base;
    try {
      if (reply.snapshot !== undefined) snapshot = applySnapshotChanges(this.#base, reply.snapshot);
    } catch (err) {
      // Not made from what we hold (cannot happen on one ordered channel): start over with the whole view.
      this.#restart();
      throw new BuildThreadError(`build thread answer not applied: ${(err as Error).message}`);
    }
    // Equal content (a new thread's first answer): keep the live objects, so later changes reuse them.
    this.#base =
      this.#current !== undefined && snapshot.hash === this.#current.hash ? this.#current : snapshot;
    const outcome = this.#results.apply(reply.result);
    const changed = this.#current === undefined || snapshot.hash !== this.#current.hash;
    if (changed) {
      this.#current = snapshot;
      this.#apply(snapshot);
    }
    const { version: _v, hash: _h, ...body } = snapshot;
    const result = { ...outcome, body };
    return { snapshot, changed, result, buildMs: reply.buildMs + (performance.now() - started) };
  }

  #start(): Worker {
    const init: BuildThreadInit = { options: this.#options, version: this.#current?.version ?? 0 };
    const worker = new Worker(ENTRY, { workerData: init, name: 'sticky-ingress-build' });
    // Never keeps the process alive by itself: close() and the signal handlers own the lifetime.
    worker.unref();
    worker.on('message', (reply: BuildReply) => {
      const pending = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      pending?.resolve(reply);
    });
    const fail = (err: BuildThreadError) => {
      if (this.#worker === worker) this.#restart();
      this.#rejectPending(err, worker);
    };
    worker.on('error', (err) => fail(new BuildThreadError(err.message, { cause: err })));
    worker.on('exit', (code) => fail(new BuildThreadError(`the build thread exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }

  // Only the requests sent to `worker` (all when absent): a terminated thread exits after the next started.
  #rejectPending(err: Error, worker?: Worker): void {
    for (const [id, p] of this.#pending) {
      if (worker !== undefined && p.worker !== worker) continue;
      this.#pending.delete(id);
      p.reject(err);
    }
  }

  // The next publish starts a new thread that knows nothing: send every list whole, take every part new.
  #restart(): void {
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate();
    this.#differ.reset();
    this.#results.reset();
    this.#base = emptySnapshot();
  }
}
