import { InvalidOptionError } from '../../shared/errors.ts';
import type { ActiveHealthCheck, Backend, Certificate, Endpoint } from '../../snapshot/index.ts';
import { type BackendContext, BackendState } from './backend-state.ts';
import { diffEndpoints, type EndpointDiff, findEndpoint } from './endpoint-diff.ts';
import { EndpointOwners, reown } from './endpoint-owners.ts';
import { EndpointState } from './endpoint-state.ts';
import { CHECK_PATH, HealthChecks } from './health-checks.ts';
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

/** What a list of a snapshot gained and lost, by object identity (a replacement is in both). */
export interface Change<T> {
  readonly removed: readonly T[];
  readonly added: readonly T[];
}

/** What reconcile() changed: backend ids whose state is a new object (or gone), retired states, endpoints gone. */
export interface Reconciled {
  readonly changed: readonly string[];
  readonly retired: readonly BackendState[];
  readonly gone: readonly string[];
}

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
  /** Which backends list each endpoint id: whose values its state takes, and which ids a backend owns alone. */
  #owners = new EndpointOwners();
  #backends = new Map<string, BackendState>();
  /** Ids of the backends with upstream TLS: their options follow the certificates they name. */
  #tlsBackends = new Set<string>();
  #ctx: BackendContext | undefined;
  #checks: HealthChecks;

  constructor(options: UpstreamsOptions) {
    if (!Buffer.isBuffer(options.affinityKey) || options.affinityKey.length === 0) {
      throw new InvalidOptionError('upstreams', 'affinityKey', 'expected a non-empty Buffer');
    }
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#checks = new HealthChecks(this.#random, options.onHealthChange);
  }

  /**
   * Reconciles with a new snapshot's backends: endpoint states survive when their id does (counts, health,
   * totals carry over; address, weight and flags update in place); checkers start and stop to match.
   * `certificates`: the snapshot's, for backends with upstream TLS. A pass over every backend and endpoint:
   * reconcile() is the same result for what changed only.
   */
  update(backends: readonly Backend[], certificates: readonly Certificate[] = []): void {
    const endpoints = new Map<string, EndpointState>();
    this.#owners.clear();
    for (const b of backends) {
      for (const e of b.endpoints) {
        this.#owners.append(e.id, b.id);
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
    this.#tlsBackends.clear();
    for (const b of backends) {
      if (b.tls !== undefined) this.#tlsBackends.add(b.id);
      const previous = this.#backends.get(b.id);
      // The same (frozen) Backend over the same endpoint states: nothing to rebuild, nothing new to report.
      if (previous !== undefined && unchanged(previous, b, endpoints, ctx)) {
        states.set(b.id, previous);
        continue;
      }
      states.set(b.id, this.#state(b, ctx, previous));
    }
    this.#endpoints = endpoints;
    this.#backends = states;
    this.#ctx = ctx;
    this.#checks.reconcile(backends, endpoints);
  }

  /**
   * update() for what changed only (issue 13 item 3): `change` are the Backend objects that left and came
   * (a replacement in both, by id; in id order, the snapshot's), `certificates` what the certificate list
   * gained and lost. Only those backends' endpoints are touched: each takes the values of
   * its first owner in snapshot order, as in update(); a replaced backend's unchanged endpoints keep their
   * members (diffEndpoints). Upstream-TLS backends are rebuilt when a certificate changed their options, and
   * only the checkers of the backends that came and went are reconciled. Undefined, having changed
   * nothing, when this state is not the previous snapshot's (call update() then). Same result as update().
   */
  reconcile(change: Change<Backend>, certificates: Change<Certificate>): Reconciled | undefined {
    const ctx = this.#ctx;
    if (ctx === undefined) return undefined;
    for (const old of change.removed) if (this.#backends.get(old.id)?.config !== old) return undefined;
    const certs = ctx.certificates as Map<string, Certificate>;
    for (const c of certificates.removed) certs.delete(c.id);
    for (const c of certificates.added) certs.set(c.id, c);
    const incoming = new Map<string, Backend>();
    for (const b of change.added) incoming.set(b.id, b);
    const { touched, diffs } = reown(this.#owners, change, incoming);
    const gone = this.#restate(touched, incoming);
    const changed: string[] = [];
    const retired: BackendState[] = [];
    for (const old of change.removed) {
      retired.push(this.#backends.get(old.id) as BackendState);
      if (incoming.has(old.id)) continue;
      this.#backends.delete(old.id);
      this.#tlsBackends.delete(old.id);
      changed.push(old.id);
    }
    for (const b of change.added) {
      this.#backends.set(b.id, this.#state(b, ctx, this.#backends.get(b.id), diffs.get(b.id)));
      if (b.tls !== undefined) this.#tlsBackends.add(b.id);
      else this.#tlsBackends.delete(b.id);
      changed.push(b.id);
    }
    if (certificates.removed.length + certificates.added.length > 0) {
      this.#retls(ctx, incoming, changed, retired);
    }
    this.#checks.patch(change.removed, change.added, this.#endpoints);
    return { changed, retired, gone };
  }

  // Each touched endpoint takes its first owner's Endpoint and passive policy (update()'s rule), is created,
  // or is dropped when no backend lists it any more; returns the dropped ids.
  #restate(touched: ReadonlySet<string>, incoming: ReadonlyMap<string, Backend>): string[] {
    const gone: string[] = [];
    for (const id of touched) {
      const first = this.#owners.first(id);
      if (first === undefined) {
        if (this.#endpoints.delete(id)) gone.push(id);
        continue;
      }
      const owner = incoming.get(first) ?? (this.#backends.get(first) as BackendState).config;
      const e = findEndpoint(owner.endpoints, id) as Endpoint;
      const state = this.#endpoints.get(id);
      if (state !== undefined) state.apply(e, owner.health.passive);
      else
        this.#endpoints.set(id, new EndpointState(e, owner.health.passive, this.#now, this.#options.onEject));
    }
    return gone;
  }

  // A certificate changed: upstream-TLS backends whose options it changes are rebuilt (update()'s rule).
  #retls(
    ctx: BackendContext,
    incoming: ReadonlyMap<string, Backend>,
    changed: string[],
    retired: BackendState[],
  ) {
    for (const id of this.#tlsBackends) {
      if (incoming.has(id)) continue;
      const s = this.#backends.get(id) as BackendState;
      if (s.tls?.key === upstreamTlsOptions(s.config, ctx.certificates)?.key) continue;
      this.#backends.set(id, this.#state(s.config, ctx, s));
      retired.push(s);
      changed.push(id);
    }
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
    const owners = this.#owners;
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
      for (const e of diff.removed) if (!owners.single(e.id)) return undefined;
      for (const e of diff.updated) if (!owners.single(e.id)) return undefined;
      for (const e of diff.added) {
        if (owners.has(e.id) || adding.has(e.id)) return undefined;
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
        owners.insert(e.id, b.id);
      }
      for (const e of diff.removed) {
        this.#endpoints.delete(e.id);
        owners.remove(e.id, b.id);
        gone.push(e.id);
      }
      this.#backends.set(b.id, this.#state(b, ctx, this.#backends.get(b.id), diff));
      // Any field but the endpoints may differ too (a producer's choice): a switch to upstream TLS among them.
      if (b.tls !== undefined) this.#tlsBackends.add(b.id);
      else this.#tlsBackends.delete(b.id);
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

  /** The ids of the backends listing endpoint `id`, in snapshot order. */
  owners(id: string): readonly string[] {
    return this.#owners.all(id);
  }

  /** How many health checkers have a probe scheduled or in flight. */
  get activeChecks(): number {
    return this.#checks.running;
  }

  /** The health checkers: endpoint id, check settings, the backends each reports to (stats, tests). */
  checkers(): { endpoint: string; check: ActiveHealthCheck; reportTo: string[] }[] {
    return this.#checks.list();
  }

  /** Stops every health checker; later update() calls keep the pools current but start no checkers. */
  close(): void {
    this.#checks.close();
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
