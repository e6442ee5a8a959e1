import { InvalidOptionError } from '../../shared/errors.ts';

/**
 * Coalesces bursts of changes into one rebuild (Contour's holdoff): `fire` runs `delayMs` after the last
 * `trigger`, but never later than `maxDelayMs` after the first pending one, so a steady trickle of
 * EndpointSlice churn cannot starve the rebuild.
 */
export class Holdoff {
  readonly #delayMs: number;
  readonly #maxDelayMs: number;
  readonly #fire: () => void;
  readonly #now: () => number;
  #firstPending: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `now` is a monotonic clock in ms (injectable for tests with mocked timers). */
  constructor(
    fire: () => void,
    delayMs = 100,
    maxDelayMs = 500,
    now: () => number = () => performance.now(),
  ) {
    if (!(delayMs >= 0) || !(maxDelayMs >= delayMs))
      throw new InvalidOptionError('holdoff', 'delayMs/maxDelayMs', 'need 0 <= delayMs <= maxDelayMs');
    this.#fire = fire;
    this.#delayMs = delayMs;
    this.#maxDelayMs = maxDelayMs;
    this.#now = now;
  }

  /** Whether a fire is scheduled. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  /** Notes a change; (re)schedules the fire. */
  trigger(): void {
    if (this.#closed) return;
    const now = this.#now();
    this.#firstPending ??= now;
    const wait = Math.max(0, Math.min(this.#delayMs, this.#firstPending + this.#maxDelayMs - now));
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#firstPending = undefined;
      this.#fire();
    }, wait);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
