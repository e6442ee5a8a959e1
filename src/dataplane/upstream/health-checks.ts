import type { ActiveHealthCheck, Backend } from '../../snapshot/index.ts';
import { HealthChecker } from './active-health.ts';
import type { EndpointState } from './endpoint-state.ts';

// RFC 9112 3.2 origin-form, no spaces or controls (node:http would throw on them).
export const CHECK_PATH = /^\/[\x21-\x7e]*$/;

/** One wanted checker: its endpoint and the backends listing it with that path, in snapshot order. */
interface Want {
  readonly endpointId: string;
  /** The first one's check settings are the checker's (update()'s rule). */
  owners: { readonly id: string; readonly check: ActiveHealthCheck }[];
}

/**
 * The active health checkers of the current snapshot: one per (endpoint id, path), reporting to every backend
 * that lists the endpoint with that check. Long-lived: close() stops them, and later reconciles start none.
 */
export class HealthChecks {
  /** Checkers by `${endpointId} ${path}`, and which backends each one reports for. */
  #checkers = new Map<string, HealthChecker>();
  #wanted = new Map<string, Want>();
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
    const wanted = new Map<string, Want>();
    for (const b of backends) {
      const check = b.health.active;
      if (check === undefined || !CHECK_PATH.test(check.path)) continue;
      for (const e of b.endpoints) {
        const key = `${e.id} ${check.path}`;
        const want = wanted.get(key);
        if (want === undefined) wanted.set(key, { endpointId: e.id, owners: [{ id: b.id, check }] });
        else if (!want.owners.some((o) => o.id === b.id)) want.owners.push({ id: b.id, check });
      }
    }
    for (const key of this.#checkers.keys()) if (!wanted.has(key)) this.#stop(key);
    this.#wanted = wanted;
    if (this.#closed) return;
    for (const [key, want] of wanted) this.#ensure(key, want, endpoints);
  }

  /**
   * reconcile() for what changed only: `removed` and `added` are the backends that left and came (a replaced
   * one in both; lists in id order, the snapshot's), so only their checkers' keys are looked at.
   */
  patch(
    removed: readonly Backend[],
    added: readonly Backend[],
    endpoints: ReadonlyMap<string, EndpointState>,
  ): void {
    const dirty = new Set<string>();
    for (const b of removed) {
      const check = b.health.active;
      if (check === undefined || !CHECK_PATH.test(check.path)) continue;
      for (const e of b.endpoints) {
        const key = `${e.id} ${check.path}`;
        const want = this.#wanted.get(key);
        if (want !== undefined) want.owners = want.owners.filter((o) => o.id !== b.id);
        dirty.add(key);
      }
    }
    for (const b of added) {
      const check = b.health.active;
      if (check === undefined || !CHECK_PATH.test(check.path)) continue;
      for (const e of b.endpoints) {
        const key = `${e.id} ${check.path}`;
        let want = this.#wanted.get(key);
        if (want === undefined) {
          want = { endpointId: e.id, owners: [] };
          this.#wanted.set(key, want);
        }
        if (want.owners.some((o) => o.id === b.id)) continue;
        let at = want.owners.length;
        while (at > 0 && (want.owners[at - 1] as { id: string }).id > b.id) at--;
        want.owners.splice(at, 0, { id: b.id, check });
        dirty.add(key);
      }
    }
    for (const key of dirty) {
      const want = this.#wanted.get(key);
      if (want === undefined || want.owners.length === 0) {
        this.#wanted.delete(key);
        this.#stop(key);
      } else if (!this.#closed) this.#ensure(key, want, endpoints);
    }
  }

  /** Each checker: endpoint id, path, the settings it probes with and the backends it reports to (stats, tests). */
  list(): { endpoint: string; check: ActiveHealthCheck; reportTo: string[] }[] {
    return [...this.#checkers].map(([key, c]) => ({
      endpoint: c.endpoint.id,
      check: c.check,
      reportTo: this.#wanted.get(key)?.owners.map((o) => o.id) ?? [],
    }));
  }

  /** Stops every checker for good. */
  close(): void {
    this.#closed = true;
    for (const c of this.#checkers.values()) c.close();
    this.#checkers.clear();
    this.#wanted.clear();
  }

  // The first owner's settings for a running checker, or a new checker started.
  #ensure(key: string, want: Want, endpoints: ReadonlyMap<string, EndpointState>): void {
    const check = (want.owners[0] as { check: ActiveHealthCheck }).check;
    const existing = this.#checkers.get(key);
    if (existing) {
      existing.check = check;
      return;
    }
    const checker = new HealthChecker(endpoints.get(want.endpointId)!, check, this.#onFlip);
    this.#checkers.set(key, checker);
    checker.start(this.#random);
  }

  // A checker no backend wants: stopped, and its endpoint no longer failed by it.
  #stop(key: string): void {
    const checker = this.#checkers.get(key);
    if (checker === undefined) return;
    checker.close();
    checker.endpoint.setCheckHealthy(checker.path, true);
    this.#checkers.delete(key);
  }

  #flip(checker: HealthChecker, healthy: boolean): void {
    checker.endpoint.setCheckHealthy(checker.path, healthy);
    const want = this.#wanted.get(`${checker.endpoint.id} ${checker.path}`);
    if (want === undefined || this.#onHealthChange === undefined) return;
    for (const o of want.owners) this.#onHealthChange(o.id, checker.endpoint.id, healthy);
  }
}
