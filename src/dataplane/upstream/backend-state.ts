import type { Backend } from '../../snapshot/index.ts';
import { affinityValue, CookieTemplate, findKnownCookie } from './affinity-cookie.ts';
import { type Balancer, createBalancer, eligible, type Member } from './balancers.ts';
import type { EndpointState } from './endpoint-state.ts';

/** What `BackendState.pick` chose for one request. */
export interface Selection {
  endpoint: EndpointState;
  /** Set-Cookie header value to add to the response, when the client must be (re)pinned. */
  setCookie?: string;
  /**
   * none: no affinity, or a pinned endpoint failed to connect and changeOnFailure is off (served elsewhere for
   * this request only, cookie untouched); hit: the cookie's endpoint; new: no/unknown cookie, pinned now;
   * reissued: the cookie's endpoint could not be used and the client is re-pinned (always with setCookie).
   */
  affinity: 'none' | 'hit' | 'new' | 'reissued';
}

/** What a BackendState needs from its Upstreams. */
export interface BackendContext {
  affinityKey: Buffer;
  now: () => number;
  random: () => number;
  /** Shared endpoint states by id, already reconciled for this snapshot. */
  endpoints: ReadonlyMap<string, EndpointState>;
}

/**
 * One backend of one snapshot: its members, balancer and affinity cookie map. Rebuilt at every update(),
 * carrying over balancer state, round-robin accumulators and cookie values from the previous instance.
 */
export class BackendState {
  readonly config: Backend;
  /** Why affinity is off for this backend despite being configured; undefined when fine. */
  readonly problem: string | undefined;
  #members: Member[];
  #balancer: Balancer;
  #byCookie: Map<string, Member> | undefined;
  #cookie: CookieTemplate | undefined;

  /** Built by Upstreams; `previous` is the same backend id in the last snapshot, if any. */
  constructor(config: Backend, ctx: BackendContext, previous?: BackendState) {
    this.config = config;
    const reuse = previous?.config.balance === config.balance;
    this.#balancer = reuse ? previous.#balancer : createBalancer(config.balance, ctx.random);
    const old = new Map<string, Member>();
    if (previous !== undefined) for (const m of previous.#members) old.set(m.state.id, m);
    const sameService = previous !== undefined && sameCookieInput(previous.config, config);

    if (config.affinity) {
      this.#cookie = new CookieTemplate(config.affinity, ctx.now);
      this.problem = this.#cookie.problem;
      if (this.problem !== undefined) this.#cookie = undefined;
      else this.#byCookie = new Map();
    }
    this.#members = [];
    for (const e of config.endpoints) {
      const state = ctx.endpoints.get(e.id);
      if (state === undefined) continue;
      const before = old.get(e.id);
      let cookieValue = '';
      if (this.#byCookie !== undefined) {
        cookieValue =
          sameService && before?.cookieValue
            ? before.cookieValue
            : affinityValue(ctx.affinityKey, config.service, e.id);
      }
      const m: Member = {
        state,
        weight: clampWeight(e.weight),
        ready: e.ready,
        terminating: e.terminating,
        current: before?.current ?? 0,
        cookieValue,
      };
      this.#members.push(m);
      this.#byCookie?.set(cookieValue, m);
    }
  }

  /** The members in snapshot order (sorted by endpoint id). */
  get members(): readonly Member[] {
    return this.#members;
  }

  /** True when `cookieHeader` carries this backend's affinity cookie naming one of its endpoints. */
  pins(cookieHeader: string | undefined): boolean {
    const cookie = this.#cookie;
    if (cookie === undefined || cookieHeader === undefined) return false;
    return findKnownCookie(cookieHeader, cookie.name, this.#byCookie!) !== undefined;
  }

  /**
   * Picks an endpoint. cookieHeader is the raw Cookie request header; secure = the request came over HTTPS;
   * exclude = endpoint ids that already failed to connect for this request. undefined => answer 503.
   */
  pick(
    cookieHeader: string | undefined,
    secure: boolean,
    exclude?: ReadonlySet<string>,
  ): Selection | undefined {
    const cookie = this.#cookie;
    if (cookie === undefined) {
      const m = this.#balance(exclude);
      return m && { endpoint: m.state, affinity: 'none' };
    }
    const pinned = cookieHeader ? findKnownCookie(cookieHeader, cookie.name, this.#byCookie!) : undefined;
    if (pinned === undefined) {
      const m = this.#balance(exclude);
      return m && { endpoint: m.state, setCookie: cookie.header(m.cookieValue, secure), affinity: 'new' };
    }
    const affinity = this.config.affinity!;
    if (exclude?.has(pinned.state.id)) {
      const m = this.#balance(exclude);
      if (m === undefined) return undefined;
      if (!affinity.changeOnFailure) return { endpoint: m.state, affinity: 'none' };
      return { endpoint: m.state, setCookie: cookie.header(m.cookieValue, secure), affinity: 'reissued' };
    }
    if (affinity.mode === 'persistent' || eligible(pinned, false, undefined)) {
      return { endpoint: pinned.state, affinity: 'hit' };
    }
    let m = this.#balancer.pick(this.#members, false, exclude);
    if (m === undefined) {
      // Panic (no healthy endpoint): a pinned endpoint that is still ready keeps its sessions rather than
      // being swapped for another endpoint that is no healthier.
      if (pinned.ready && !pinned.terminating) return { endpoint: pinned.state, affinity: 'hit' };
      m = this.#balancer.pick(this.#members, true, exclude);
      if (m === undefined) return undefined;
    }
    if (m === pinned) return { endpoint: m.state, affinity: 'hit' };
    return { endpoint: m.state, setCookie: cookie.header(m.cookieValue, secure), affinity: 'reissued' };
  }

  /**
   * Balances among healthy eligible endpoints; when every ready endpoint is unhealthy, among the ready ones
   * regardless of health (Envoy's panic mode): health checks that fail everywhere more often mean a broken
   * check or a shared dependency than dead pods, and a 503 for everyone helps nobody.
   */
  #balance(exclude: ReadonlySet<string> | undefined): Member | undefined {
    return (
      this.#balancer.pick(this.#members, false, exclude) ?? this.#balancer.pick(this.#members, true, exclude)
    );
  }
}

function clampWeight(weight: number): number {
  if (!Number.isFinite(weight)) return 1;
  return Math.min(256, Math.max(1, Math.round(weight)));
}

function sameCookieInput(a: Backend, b: Backend): boolean {
  return (
    a.service.namespace === b.service.namespace &&
    a.service.name === b.service.name &&
    a.service.port === b.service.port
  );
}
