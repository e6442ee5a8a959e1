import type { Dispatcher } from 'undici';
import { type ConnectionOwner, H1Connection, type Replay } from './h1-client.ts';
import { H1Error } from './h1-parser.ts';
import { type H1Request, requestHead } from './h1-request.ts';

/** Options of an H1Pool. */
export interface H1PoolOptions {
  /** Connect timeout in ms. */
  connectTimeout: number;
  /** An idle connection closes after this long (capped by the upstream's Keep-Alive: timeout hint - 1 s). */
  keepAliveTimeout: number;
  /** At most this many connections; further requests wait in FIFO order. */
  connections?: number;
}

/**
 * Keep-alive connections to one upstream endpoint over our own HTTP/1.1 client (h1-client.ts): LIFO idle
 * list (the warmest socket first), FIFO wait queue, at most `connections` sockets. Same dispatch/close/destroy
 * surface as undici's Pool, so PoolMap and the exchange use either.
 */
export class H1Pool implements ConnectionOwner {
  readonly #host: string;
  readonly #port: number;
  readonly #authority: string;
  readonly #options: H1PoolOptions;
  readonly #max: number;
  #size = 0;
  #idle: H1Connection[] = [];
  #busy = new Set<H1Connection>();
  #queue: {
    req: H1Request;
    built: { head: string; chunked: boolean };
    handler: Dispatcher.DispatchHandler;
  }[] = [];
  #closed = false;
  #destroyed = false;
  #drained: (() => void) | undefined;
  /** Closes idle connections past their idleUntil; armed while any is idle. */
  #sweep: NodeJS.Timeout | undefined;
  #onSweep = (): void => this.#closeExpired();

  constructor(host: string, port: number, options: H1PoolOptions) {
    this.#host = host;
    this.#port = port;
    this.#authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.#options = options;
    this.#max = options.connections ?? Number.POSITIVE_INFINITY;
  }

  /** Whether close() or destroy() was called. */
  get closed(): boolean {
    return this.#closed;
  }
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Open connections (idle and busy), for tests and stats. */
  get connections(): number {
    return this.#size;
  }

  /**
   * Sends `req` on an idle connection, a new one, or queues it. Throws H1Error('H1_ERR_INVALID_REQUEST')
   * synchronously, before any connection is touched, when the request could not be written safely.
   */
  dispatch(req: H1Request, handler: Dispatcher.DispatchHandler): boolean {
    const built = requestHead(req, this.#authority);
    if (this.#closed) throw new H1Error('H1_ERR_POOL_CLOSED', 'pool closed');
    let idle = this.#idle.pop();
    // An idle connection whose upstream already sent its FIN is gone, even if its 'end' is not handled yet.
    while (idle !== undefined && !idle.reusable) {
      idle.destroy();
      idle = this.#idle.pop();
    }
    if (idle !== undefined) this.#run(idle, req, built, handler);
    else if (this.#size < this.#max) this.#run(this.#open(), req, built, handler);
    else this.#queue.push({ req, built, handler });
    return true;
  }

  release(c: H1Connection, keepAliveHintMs: number): void {
    this.#busy.delete(c);
    const next = this.#queue.shift();
    if (next !== undefined) {
      this.#run(c, next.req, next.built, next.handler);
      return;
    }
    if (this.#closed) {
      c.destroy();
      return;
    }
    // Close ours 1 s before the upstream's announced timeout, so we never write on a socket it is closing.
    const hint = keepAliveHintMs > 0 ? Math.max(keepAliveHintMs - 1_000, 1_000) : Number.POSITIVE_INFINITY;
    const idleMs = Math.min(this.#options.keepAliveTimeout, hint);
    c.idle(performance.now(), idleMs);
    this.#idle.push(c);
    if (this.#sweep === undefined) this.#armSweep(idleMs);
  }

  remove(c: H1Connection, replay?: Replay): void {
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#busy.delete(c);
    this.#size--;
    // A stale keep-alive connection's request takes the freed slot first (it was in flight; the queue waits).
    const next = replay ?? (this.#closed ? undefined : this.#queue.shift());
    if (next !== undefined) this.#run(this.#open(), next.req, next.built, next.handler);
    if (this.#size === 0) this.#drained?.();
  }

  /** Closes idle connections now and busy ones once their response ends; queued requests still run. */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#sweep);
    this.#sweep = undefined;
    for (const c of this.#idle.splice(0)) c.destroy();
    if (this.#size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drained = resolve;
    });
  }

  /** Destroys every connection; in-flight and queued requests get onResponseError. */
  destroy(): Promise<void> {
    this.#closed = true;
    this.#destroyed = true;
    clearTimeout(this.#sweep);
    this.#sweep = undefined;
    const queued = this.#queue.splice(0);
    for (const c of [...this.#idle.splice(0), ...this.#busy]) c.destroy();
    const err = new H1Error('H1_ERR_POOL_CLOSED', 'pool destroyed');
    for (const q of queued) q.handler.onResponseError?.(undefined as never, err);
    return Promise.resolve();
  }

  #armSweep(ms: number): void {
    this.#sweep = setTimeout(this.#onSweep, Math.max(1, Math.ceil(ms)));
    // An idle pool must not hold the process open.
    this.#sweep.unref();
  }

  // Closes the idle connections whose time is up; re-arms for the earliest of the others.
  #closeExpired(): void {
    this.#sweep = undefined;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const c of [...this.#idle]) {
      if (c.idleUntil <= now) c.destroy();
      else if (c.idleUntil < next) next = c.idleUntil;
    }
    if (next !== Number.POSITIVE_INFINITY && !this.#closed) this.#armSweep(next - now);
  }

  #open(): H1Connection {
    this.#size++;
    return new H1Connection(this, this.#host, this.#port, this.#options.connectTimeout);
  }

  #run(
    c: H1Connection,
    req: H1Request,
    built: { head: string; chunked: boolean },
    handler: Dispatcher.DispatchHandler,
  ): void {
    this.#busy.add(c);
    c.send(req, built, handler);
  }
}
