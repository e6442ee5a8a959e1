/**
 * Memory back to the system after many tunnels closed (issue 13 item 4). The objects of closed tunnels are
 * garbage in V8's old generation until its next full collection, and an idle process may not run one for
 * hours; nor does V8 shrink the young generation the tunnels grew, or unmap its pooled pages, unless a
 * collection is run to reduce memory. So after a large drop in open tunnels followed by a quiet moment, one
 * memory-reducing collection is asked for, at most once per interval (bench/PERF-NOTES.md has the figures).
 */

/** When a reclaim runs. */
export interface ReclaimPolicy {
  /** Open tunnels must have fallen by at least this many from their peak since the last reclaim. */
  readonly minDrop: number;
  /** ...and no tunnel closed for this long (the burst of closes is over). */
  readonly quietMs: number;
  /** At most one reclaim per this interval: a full collection pauses the event loop while it runs. */
  readonly minIntervalMs: number;
}

/** The policy `serve` uses: 500 tunnels down, 5 s without a close, at most once a minute. */
export const DEFAULT_RECLAIM_POLICY: ReclaimPolicy = { minDrop: 500, quietMs: 5_000, minIntervalMs: 60_000 };

/** What one reclaim did, for the log line. */
export interface ReclaimReport {
  /** Peak open tunnels since the previous reclaim, and open tunnels now. */
  peak: number;
  open: number;
  /** Time the collection took (the event loop was held that long). */
  ms: number;
}

/**
 * Watches tunnel closes and calls `reclaim` (a memory-reducing full collection) under the policy. `open()`
 * reads the tunnels open now. One timer at most, unref'd: it never keeps the process alive; close() clears it.
 */
export class MemoryReclaim {
  #reclaim: () => void;
  #open: () => number;
  #policy: ReclaimPolicy;
  #report: (r: ReclaimReport) => void;
  #peak = 0;
  #last = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(o: {
    reclaim: () => void;
    open: () => number;
    policy?: ReclaimPolicy;
    report?: (r: ReclaimReport) => void;
  }) {
    this.#reclaim = o.reclaim;
    this.#open = o.open;
    this.#policy = o.policy ?? DEFAULT_RECLAIM_POLICY;
    this.#report = o.report ?? (() => {});
  }

  /** One tunnel closed; `open()` no longer counts it. O(1): a counter, and a timer refresh past the threshold. */
  tunnelClosed(): void {
    if (this.#closed) return;
    const open = this.#open();
    // The count before this close is a level the tunnels reached: the peak needs no hook on the open path.
    if (open + 1 > this.#peak) this.#peak = open + 1;
    if (this.#timer !== undefined) this.#timer.refresh();
    else if (this.#peak - open >= this.#policy.minDrop) this.#arm(this.#policy.quietMs);
  }

  /** Stops watching (shutdown). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#fire(), ms);
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    const open = this.#open();
    const peak = this.#peak;
    // Tunnels came back while we waited (clients reconnecting): their memory is in use again, nothing to give.
    if (peak - open < this.#policy.minDrop) {
      this.#peak = open;
      return;
    }
    const wait = this.#last + this.#policy.minIntervalMs - performance.now();
    if (wait > 0) {
      this.#arm(wait);
      return;
    }
    this.#peak = open;
    const t0 = performance.now();
    this.#last = t0;
    try {
      this.#reclaim();
    } catch {
      // A collection that cannot run leaves memory where it was; traffic is unaffected.
      return;
    }
    this.#report({ peak, open, ms: performance.now() - t0 });
  }
}
