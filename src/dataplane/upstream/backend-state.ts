import type { AffinityPolicy, Backend, Certificate } from '../../snapshot/index.ts';
import { affinityValue, CookieTemplate, findKnownCookie } from './affinity-cookie.ts';
import { type SidRequest, sealSid, sidOfTarget } from './affinity-sid.ts';
import { type Balancer, createBalancer, eligible, type Member } from './balancers.ts';
import type { EndpointState } from './endpoint-state.ts';
import { hash32, MaglevBalancer } from './maglev.ts';
import { type UpstreamTlsOptions, upstreamTlsOptions } from './upstream-tls.ts';

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
  /** The snapshot's certificates by id (upstream TLS trust anchors and client certificates). */
  certificates: ReadonlyMap<string, Certificate>;
}

/**
 * One backend of one snapshot: its members, balancer and affinity cookie map. Rebuilt at every update(),
 * carrying over balancer state, round-robin accumulators and cookie values from the previous instance.
 */
export class BackendState {
  readonly config: Backend;
  /** Why affinity is off for this backend despite being configured; undefined when fine. */
  readonly problem: string | undefined;
  /** TLS towards the endpoints (`backend-protocol: HTTPS`), resolved for this snapshot; undefined for HTTP. */
  readonly tls: UpstreamTlsOptions | undefined;
  #members: Member[];
  #balancer: Balancer;
  #byCookie: Map<string, Member> | undefined;
  #cookie: CookieTemplate | undefined;
  #key: Buffer;

  /** Built by Upstreams; `previous` is the same backend id in the last snapshot, if any. */
  constructor(config: Backend, ctx: BackendContext, previous?: BackendState) {
    this.config = config;
    this.#key = ctx.affinityKey;
    this.tls = upstreamTlsOptions(config, ctx.certificates);
    const reuse = previous?.config.balance === config.balance;
    this.#balancer = reuse ? previous.#balancer : newBalancer(config, ctx.random);
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
        serving: e.serving,
        terminating: e.terminating,
        current: before?.current ?? 0,
        cookieValue,
      };
      this.#members.push(m);
      this.#byCookie?.set(cookieValue, m);
    }
  }

  /** Whether `cookieHeader` carries this backend's affinity cookie naming one of its endpoints (sticky canary). */
  pins(cookieHeader: string | undefined): boolean {
    const cookie = this.#cookie;
    if (cookie === undefined || cookieHeader === undefined) return false;
    return findKnownCookie(cookieHeader, cookie.name, this.#byCookie!) !== undefined;
  }

  /** The members in snapshot order (sorted by endpoint id). */
  get members(): readonly Member[] {
    return this.#members;
  }

  /**
   * Picks an endpoint. cookieHeader is the raw Cookie request header; secure = the request came over HTTPS;
   * exclude = endpoint ids that already failed to connect for this request; hashKey = the request's key when
   * the backend balances by hash (see hashKey()). undefined => answer 503.
   */
  pick(
    cookieHeader: string | undefined,
    secure: boolean,
    exclude?: ReadonlySet<string>,
    sidToken?: string,
    hashKey?: string,
  ): Selection | undefined {
    const key = hashKey === undefined ? undefined : hash32(hashKey);
    const cookie = this.#cookie;
    if (cookie === undefined) {
      const m = this.#balance(exclude, key);
      return m && { endpoint: m.state, affinity: 'none' };
    }
    // A sealed engine.io sid (affinity-sid.ts) names its endpoint like the cookie does, and wins over it.
    const pinned =
      (sidToken === undefined ? undefined : this.#byCookie!.get(sidToken)) ??
      (cookieHeader ? findKnownCookie(cookieHeader, cookie.name, this.#byCookie!) : undefined);
    if (pinned === undefined) {
      const m = this.#balance(exclude, key);
      return m && { endpoint: m.state, setCookie: cookie.header(m.cookieValue, secure), affinity: 'new' };
    }
    const affinity = this.config.affinity!;
    if (exclude?.has(pinned.state.id)) {
      const m = this.#balance(exclude, key);
      if (m === undefined) return undefined;
      if (!affinity.changeOnFailure) return { endpoint: m.state, affinity: 'none' };
      return { endpoint: m.state, setCookie: cookie.header(m.cookieValue, secure), affinity: 'reissued' };
    }
    if (affinity.mode === 'persistent' || eligible(pinned, false, undefined) || drains(affinity, pinned)) {
      return { endpoint: pinned.state, affinity: 'hit' };
    }
    let m = this.#balancer.pick(this.#members, false, exclude, key);
    if (m === undefined) {
      // Panic (no healthy endpoint): a pinned endpoint that is still ready keeps its sessions rather than
      // being swapped for another endpoint that is no healthier.
      if (pinned.ready && !pinned.terminating) return { endpoint: pinned.state, affinity: 'hit' };
      m = this.#balancer.pick(this.#members, true, exclude, key);
      if (m === undefined) return undefined;
    }
    if (m === pinned) return { endpoint: m.state, affinity: 'hit' };
    return { endpoint: m.state, setCookie: cookie.header(m.cookieValue, secure), affinity: 'reissued' };
  }

  /** What `target` says about an engine.io session; always `none` unless the backend has socket.io sid affinity. */
  sidOf(target: string, method: string): SidRequest {
    if (this.#cookie === undefined || this.config.affinity?.socketio !== true) {
      return { kind: 'none', handshake: false };
    }
    return sidOfTarget(this.#key, target, method);
  }

  /** Seals backend sids of sessions opened on `endpoint` (handshake responses); undefined if not a member. */
  sealerFor(endpoint: EndpointState): ((backendSid: string) => string) | undefined {
    const m = this.#members.find((x) => x.state === endpoint);
    if (m === undefined || m.cookieValue === '') return undefined;
    return (backendSid) => sealSid(this.#key, m.cookieValue, backendSid);
  }

  /**
   * Balances among healthy eligible endpoints; when every ready endpoint is unhealthy, among the ready ones
   * regardless of health (Envoy's panic mode): health checks that fail everywhere more often mean a broken
   * check or a shared dependency than dead pods, and a 503 for everyone helps nobody.
   */
  #balance(exclude: ReadonlySet<string> | undefined, key: number | undefined): Member | undefined {
    return (
      this.#balancer.pick(this.#members, false, exclude, key) ??
      this.#balancer.pick(this.#members, true, exclude, key)
    );
  }
}

/**
 * drainable: a terminating endpoint still `serving` (KEP-1669 EndpointSlice conditions) keeps the sessions
 * pinned to it, as long as it is healthy; the balancer never gives it new ones (eligible() refuses it).
 */
function drains(affinity: AffinityPolicy, m: Member): boolean {
  return affinity.mode === 'drainable' && m.serving && m.state.healthy;
}

/** Hash balancing gets a consistent hash; the others the usual factory. */
function newBalancer(config: Backend, random: () => number): Balancer {
  return config.balance === 'hash' ? new MaglevBalancer() : createBalancer(config.balance, random);
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
