import { setTimeout as delay } from 'node:timers/promises';

/** Options of `waitFor`: how long to keep trying and what the failure message says. */
export interface WaitOptions {
  timeoutMs?: number;
  /** First poll interval; doubles up to `maxIntervalMs`. */
  intervalMs?: number;
  maxIntervalMs?: number;
  description?: string;
}

/**
 * Polls `probe` until it returns a value other than undefined/false, with backoff and a bounded deadline.
 * A thrown error counts as "not yet"; the last one is reported when the deadline passes.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let interval = options.intervalMs ?? 25;
  const maxInterval = options.maxIntervalMs ?? 500;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out waiting for ${options.description ?? 'condition'}${why}`);
    }
    await delay(Math.min(interval, Math.max(1, deadline - Date.now())));
    interval = Math.min(interval * 2, maxInterval);
  }
}
