import type { ActiveHealthCheck, Backend } from '../../snapshot/index.ts';
import { HealthChecker } from './active-health.ts';
import type { EndpointState } from './endpoint-state.ts';

// RFC 9112 3.2 origin-form, no spaces or controls (node:http would throw on them).
export const CHECK_PATH = /^\/[\x21-\x7e]*$/;

/**
 * The active health checkers of the current snapshot: one per (endpoint id, path), reporting to every backend
 * that lists the endpoint with that check. Long-lived: close() stops them, and later reconciles start none.
 */
export class HealthChecks {
  /** Checkers by `${endpointId} ${path}`, and which backends each one reports for. */
  #checkers = new Map<string, HealthChecker>();
  #reportTo = new Map<string, string[]>();
  #random: () => number;
  #onHealthChange: ((backendId: string, endpointId: string, healthy: boolean) => void) | undefined;
  #onFlip = (checker: HealthChecker, healthy: boolean) => this.#flip(checker, healthy);
  #closed = false;

  /** `random` jitters the first probe; `onHealthChange` hears each flip once per backend reported to. */
  constructor(
    random: () => number,
    onHealthChange?: (backendId: string, endpointId: string, healthy: boolean) => void,
  ) {
    this.#random = random;
    this.#onHealthChange = onHealthChange;
  }

  /** How many checkers have a probe scheduled or in flight. */
  get running(): number {
    let n = 0;
    for (const c of this.#checkers.values()) if (c.running) n++;
    return n;
  }

  /**
   * Starts and stops checkers to match `backends` (`endpoints` has the state of each id they list): a checker
   * whose key is still wanted keeps running with the new check settings; one no longer wanted stops and
   * leaves its endpoint healthy.
   */
  reconcile(backends: readonly Backend[], endpoints: ReadonlyMap<string, EndpointState>): void {
    const wanted = new Map<string, { endpoint: EndpointState; check: ActiveHealthCheck }>();
    const reportTo = new Map<string, string[]>();
    for (const b of backends) {
      const check = b.health.active;
      if (check === undefined) continue;
      if (!CHECK_PATH.test(check.path)) continue;
      for (const e of b.endpoints) {
        const key = `${e.id} ${check.path}`;
        const list = reportTo.get(key);
        if (list) {
          if (!list.includes(b.id)) list.push(b.id);
          continue;
        }
        reportTo.set(key, [b.id]);
        wanted.set(key, { endpoint: endpoints.get(e.id)!, check });
      }
    }
    for (const [key, checker] of this.#checkers) {
      if (wanted.has(key)) continue;
      checker.close();
      checker.endpoint.setCheckHealthy(checker.path, true);
      this.#checkers.delete(key);
    }
    this.#reportTo = reportTo;
    if (this.#closed) return;
    for (const [key, { endpoint, check }] of wanted) {
      const existing = this.#checkers.get(key);
      if (existing) {
        existing.check = check;
        continue;
      }
      const checker = new HealthChecker(endpoint, check, this.#onFlip);
      this.#checkers.set(key, checker);
      checker.start(this.#random);
    }
  }

  /** Stops every checker for good. */
  close(): void {
    this.#closed = true;
    for (const c of this.#checkers.values()) c.close();
    this.#checkers.clear();
    this.#reportTo.clear();
  }

  #flip(checker: HealthChecker, healthy: boolean): void {
    checker.endpoint.setCheckHealthy(checker.path, healthy);
    const ids = this.#reportTo.get(`${checker.endpoint.id} ${checker.path}`);
    if (ids === undefined || this.#onHealthChange === undefined) return;
    for (const id of ids) this.#onHealthChange(id, checker.endpoint.id, healthy);
  }
}
