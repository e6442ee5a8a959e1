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
