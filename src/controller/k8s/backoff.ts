import { InvalidOptionError } from '../../shared/errors.ts';

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): the n-th
 * delay is uniform in [base*2^n / 2, base*2^n], capped at `maxMs`, so restarting informers do not stampede.
 */
export class Backoff {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(baseMs: number, maxMs: number, random: () => number = Math.random) {
    if (!(baseMs > 0) || !(maxMs >= baseMs))
      throw new InvalidOptionError('backoff', 'baseMs/maxMs', 'need 0 < baseMs <= maxMs');
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
    this.#random = random;
  }

  /** The next delay in ms; each call doubles the ceiling. */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#baseMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  /** Back to the base delay (after a success). */
  reset(): void {
    this.#attempt = 0;
  }
}
