/**
 * Requests per second from monotonically increasing totals, sampled whenever /stats.json is read: a rate is
 * recomputed once at least `minIntervalMs` passed since its last sample, so several viewers polling at once
 * share one rate instead of each seeing a tiny interval. Keys not sampled in a pass are forgotten.
 */
export class Rates {
  #minIntervalMs: number;
  #samples = new Map<string, { at: number; total: number; rate: number }>();
  #seen = new Set<string>();

  constructor(minIntervalMs = 1000) {
    this.#minIntervalMs = minIntervalMs;
  }

  /** The per-second rate of `total` under `key` at time `now` (ms); 0 on the first sample. */
  rate(key: string, total: number, now: number): number {
    this.#seen.add(key);
    const s = this.#samples.get(key);
    if (s === undefined || total < s.total) {
      this.#samples.set(key, { at: now, total, rate: 0 });
      return 0;
    }
    const dt = now - s.at;
    if (dt >= this.#minIntervalMs) {
      s.rate = ((total - s.total) * 1000) / dt;
      s.at = now;
      s.total = total;
    }
    return Math.round(s.rate * 100) / 100;
  }

  /** Ends a pass: drops keys that were not sampled in it (routes and endpoints that left the snapshot). */
  sweep(): void {
    for (const key of this.#samples.keys()) if (!this.#seen.has(key)) this.#samples.delete(key);
    this.#seen.clear();
  }
}
