/** Percentile `p` (0..100) of `values` by nearest rank; NaN for an empty list. Does not mutate. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Median of the finite values (NaN when none): the figure each round-robin of runs reports. */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * The longest the event loop was held in one go while a probe ran: the largest gap between ticks of a 1 ms
 * timer (a block of N ms shows as a gap of about N). `stop()` returns it in ms.
 */
export function loopHeldProbe(): { stop(): number } {
  let held = 0;
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    held = Math.max(held, now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(probe);
      return Math.max(held, performance.now() - last);
    },
  };
}
