/**
 * Counts in-flight requests and open tunnels, and tells shutdown when everything has finished or the drain
 * deadline has passed, whichever comes first. No polling: the last request to end wakes the waiter.
 */
export class DrainTracker {
  #draining = false;
  #requests = 0;
  #tunnelCount: () => number = () => 0;
  #wake: (() => void) | undefined;

  /** True once shutdown began. */
  get draining(): boolean {
    return this.#draining;
  }

  /** In-flight requests (tests, stats). */
  get requests(): number {
    return this.#requests;
  }

  requestStarted(): void {
    this.#requests++;
  }

  requestEnded(): void {
    this.#requests--;
    this.#check();
  }

  tunnelEnded(): void {
    this.#check();
  }

  /** Enter draining mode (responses get `Connection: close`). */
  start(): void {
    this.#draining = true;
  }

  /** Resolves when no request and no tunnel is left, or after `timeoutMs`. Timer always cleared. */
  settled(timeoutMs: number, tunnels: () => number): Promise<void> {
    this.#tunnelCount = tunnels;
    if (this.#idle()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = done;
    });
  }

  #idle(): boolean {
    return this.#requests <= 0 && this.#tunnelCount() === 0;
  }

  #check(): void {
    if (this.#wake !== undefined && this.#idle()) this.#wake();
  }
}

/** The part of node's HTTP(S) server the drain drives. */
interface HttpListener {
  close(callback?: (err?: Error) => void): unknown;
  closeIdleConnections(): void;
  getConnections(callback: (err: Error | null, count: number) => void): unknown;
}

/**
 * Stops accepting connections without closing the idle ones. node's `Server#close` also calls
 * `closeIdleConnections()`, and node counts a connection accepted a moment ago as idle until its request's first
 * bytes are parsed: closing it would reset a request the client has already sent (the load balancer chose this
 * replica just before it stopped). `done` runs once every connection has closed.
 */
export function stopAccepting(server: HttpListener, done: () => void): void {
  const own = server as { closeIdleConnections(): void };
  own.closeIdleConnections = () => {};
  try {
    server.close(() => done());
  } finally {
    delete (own as { closeIdleConnections?: () => void }).closeIdleConnections;
  }
}

/**
 * Resolves once no server has an open connection or after `ms`, whichever is first: the grace a connection
 * accepted before the listener closed gets to send its request (answered with `Connection: close`) before the
 * idle ones are closed. Checks every 25 ms; the timers never keep the process alive.
 */
export async function connectionsGone(servers: readonly HttpListener[], ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const counts = await Promise.all(
      servers.map(
        (s) => new Promise<number>((resolve) => s.getConnections((err, n) => resolve(err ? 0 : n))),
      ),
    );
    if (counts.every((n) => n === 0)) return;
    await new Promise<void>((resolve) =>
      setTimeout(resolve, Math.min(25, deadline - performance.now())).unref(),
    );
  }
}
