import { InvalidOptionError } from '../../shared/errors.ts';
import type { ActiveHealthCheck, Backend, Certificate } from '../../snapshot/index.ts';
import { HealthChecker } from './active-health.ts';
import { type BackendContext, BackendState } from './backend-state.ts';
import { diffEndpoints, type EndpointDiff } from './endpoint-diff.ts';
import { EndpointState } from './endpoint-state.ts';
import { upstreamTlsOptions } from './upstream-tls.ts';

export { BackendState, type Selection } from './backend-state.ts';
export type { Member } from './balancers.ts';
export { EndpointState } from './endpoint-state.ts';
export type { UpstreamTlsOptions } from './upstream-tls.ts';

/** Options of Upstreams; bad ones are rejected by the constructor. */
export interface UpstreamsOptions {
  /** HMAC key of the affinity cookie; replicas sharing it issue identical cookies. Must not be empty. */
  affinityKey: Buffer;
  /** Clock for passive-ejection cooldowns and cookie Expires; Date.now by default. */
  now?: () => number;
  /** Source of randomness for random-two and check start jitter; Math.random by default. */
  random?: () => number;
  /** An active health check flipped an endpoint; called once per backend that lists it with that check. */
  onHealthChange?: (backendId: string, endpointId: string, healthy: boolean) => void;
  /** Passive health ejected an endpoint for cooldownMs after consecutive connect failures. */
  onEject?: (endpointId: string, cooldownMs: number) => void;
  /** A backend's policy could not be applied in full (affinity or active check off); reported once per change. */
  onConfigProblem?: (backend: Backend, message: string) => void;
}

// RFC 9112 3.2 origin-form, no spaces or controls (node:http would throw on them).
const CHECK_PATH = /^\/[\x21-\x7e]*$/;

/**
 * The upstream pools of the dataplane: one EndpointState per endpoint id (connection counts, health), shared by
 * backends and kept across snapshot swaps, one BackendState per backend of the current snapshot, and the
 * active health checkers. Long-lived: close() stops the checkers.
 */
export class Upstreams {
  #options: UpstreamsOptions;
  #now: () => number;
  #random: () => number;
  #endpoints = new Map<string, EndpointState>();
  /** How many backends list each endpoint id: patch() only touches endpoints one backend owns. */
  #refs = new Map<string, number>();
  #backends = new Map<string, BackendState>();
  #ctx: BackendContext | undefined;
  /** Checkers by `${endpointId} ${path}`, and which backends each one reports for. */
  #checkers = new Map<string, HealthChecker>();
  #checkBackends = new Map<string, string[]>();
  #onFlip = (checker: HealthChecker, healthy: boolean) => this.#flip(checker, healthy);
  #closed = false;

  constructor(options: UpstreamsOptions) {
    if (!Buffer.isBuffer(options.affinityKey) || options.affinityKey.length === 0) {
      throw new InvalidOptionError('upstreams', 'affinityKey', 'expected a non-empty Buffer');
    }
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /**
   * Reconciles with a new snapshot's backends: endpoint states survive when their id does (counts, health,
   * totals carry over; address, weight and flags update in place); checkers start and stop to match.
   * `certificates`: the snapshot's, for backends with upstream TLS.
   */
  update(backends: readonly Backend[], certificates: readonly Certificate[] = []): void {
    const endpoints = new Map<string, EndpointState>();
    const refs = new Map<string, number>();
    for (const b of backends) {
      for (const e of b.endpoints) {
        refs.set(e.id, (refs.get(e.id) ?? 0) + 1);
        if (endpoints.has(e.id)) continue;
        let state = this.#endpoints.get(e.id);
        if (state) state.apply(e, b.health.passive);
        else state = new EndpointState(e, b.health.passive, this.#now, this.#options.onEject);
        endpoints.set(e.id, state);
      }
    }
    const ctx: BackendContext = {
      affinityKey: this.#options.affinityKey,
      now: this.#now,
      random: this.#random,
      endpoints,
      certificates: new Map(certificates.map((c) => [c.id, c])),
    };
    const states = new Map<string, BackendState>();
    for (const b of backends) {
      const previous = this.#backends.get(b.id);
      // The same (frozen) Backend over the same endpoint states: nothing to rebuild, nothing new to report.
      if (previous !== undefined && unchanged(previous, b, endpoints, ctx)) {
        states.set(b.id, previous);
        continue;
      }
      states.set(b.id, this.#state(b, ctx, previous));
    }
    this.#endpoints = endpoints;
    this.#refs = refs;
    this.#backends = states;
    this.#ctx = ctx;
    this.#reconcileChecks(backends);
  }

  /**
   * The endpoint-only fast path of update(): `changed` are new Backend objects for ids already here, over the
   * same certificates, none with an active health check, with endpoint lists sorted by id, and every endpoint
   * that came, went or changed is listed by no other backend. Only those endpoints are touched (diffEndpoints):
   * the others keep their state, member, accumulator and cookie value as they are. Returns the endpoint ids that
   * left (their pools can go), or undefined, having changed nothing, when those conditions do not hold: call
   * update() then. Same result as update().
   */
  patch(changed: readonly Backend[]): string[] | undefined {
    const ctx = this.#ctx;
    if (ctx === undefined) return undefined;
    const diffs: EndpointDiff[] = [];
    // Two changed backends of one Service (two policies) gaining the same pod: that endpoint is shared.
    const adding = new Set<string>();
    for (const b of changed) {
      const previous = this.#backends.get(b.id);
      if (previous === undefined || b.health.active !== undefined) return undefined;
      if (previous.config.health.active !== undefined) return undefined;
      // Another passive policy would have to reach every endpoint: update() does that.
      if (previous.config.health.passive !== b.health.passive) return undefined;
      const diff = diffEndpoints(previous.config.endpoints, b.endpoints);
      if (diff === undefined) return undefined;
      for (const e of diff.removed) if (this.#refs.get(e.id) !== 1) return undefined;
      for (const e of diff.updated) if (this.#refs.get(e.id) !== 1) return undefined;
      for (const e of diff.added) {
        if (this.#refs.has(e.id) || adding.has(e.id)) return undefined;
        adding.add(e.id);
      }
      diffs.push(diff);
    }
    const gone: string[] = [];
    changed.forEach((b, i) => {
      const diff = diffs[i] as EndpointDiff;
      const passive = b.health.passive;
      for (const e of diff.updated) this.#endpoints.get(e.id)?.apply(e, passive);
      for (const e of diff.added) {
        this.#endpoints.set(e.id, new EndpointState(e, passive, this.#now, this.#options.onEject));
        this.#refs.set(e.id, 1);
      }
      for (const e of diff.removed) {
        this.#endpoints.delete(e.id);
        this.#refs.delete(e.id);
        gone.push(e.id);
      }
      this.#backends.set(b.id, this.#state(b, ctx, this.#backends.get(b.id), diff));
    });
    return gone;
  }

  #state(
    b: Backend,
    ctx: BackendContext,
    previous: BackendState | undefined,
    diff?: EndpointDiff,
  ): BackendState {
    const state = new BackendState(b, ctx, previous, diff);
    if (state.problem !== undefined && state.problem !== previous?.problem) {
      this.#options.onConfigProblem?.(b, `affinity disabled: ${state.problem}`);
    }
    const path = b.health.active?.path;
    if (path !== undefined && !CHECK_PATH.test(path) && previous?.config.health.active?.path !== path) {
      this.#options.onConfigProblem?.(b, `active health check off: path ${JSON.stringify(path)} is invalid`);
    }
    return state;
  }

  /** The backend of the current snapshot with that id. */
  backend(id: string): BackendState | undefined {
    return this.#backends.get(id);
  }

  /** Every endpoint state of the current snapshot, for stats. */
  endpoints(): Iterable<EndpointState> {
    return this.#endpoints.values();
  }

  /** Every backend state of the current snapshot, for stats. */
  backends(): Iterable<BackendState> {
    return this.#backends.values();
  }

  /** How many health checkers have a probe scheduled or in flight. */
  get activeChecks(): number {
    let n = 0;
    for (const c of this.#checkers.values()) if (c.running) n++;
    return n;
  }

  /** Stops every health checker; later update() calls keep the pools current but start no checkers. */
  close(): void {
    this.#closed = true;
    for (const c of this.#checkers.values()) c.close();
    this.#checkers.clear();
    this.#checkBackends.clear();
  }

  #reconcileChecks(backends: readonly Backend[]): void {
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
        wanted.set(key, { endpoint: this.#endpoints.get(e.id)!, check });
      }
    }
    for (const [key, checker] of this.#checkers) {
      if (wanted.has(key)) continue;
      checker.close();
      checker.endpoint.setCheckHealthy(checker.path, true);
      this.#checkers.delete(key);
    }
    this.#checkBackends = reportTo;
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

  #flip(checker: HealthChecker, healthy: boolean): void {
    checker.endpoint.setCheckHealthy(checker.path, healthy);
    const ids = this.#checkBackends.get(`${checker.endpoint.id} ${checker.path}`);
    if (ids === undefined || this.#options.onHealthChange === undefined) return;
    for (const id of ids) this.#options.onHealthChange(id, checker.endpoint.id, healthy);
  }
}

function unchanged(
  previous: BackendState,
  b: Backend,
  endpoints: ReadonlyMap<string, EndpointState>,
  ctx: BackendContext,
): boolean {
  if (previous.config !== b) return false;
  // The same Backend may name a Secret whose PEM was rotated: its TLS options must follow.
  if (b.tls !== undefined && previous.tls?.key !== upstreamTlsOptions(b, ctx.certificates)?.key) return false;
  const members = previous.members;
  if (members.length !== b.endpoints.length) return false;
  for (let i = 0; i < members.length; i++) {
    if (members[i]!.state !== endpoints.get(b.endpoints[i]!.id)) return false;
  }
  return true;
}
