import type { AffinityPolicy, Backend, Certificate, Endpoint } from '../../snapshot/index.ts';
import { affinityValue, CookieTemplate, findKnownCookie } from './affinity-cookie.ts';
import { type SidRequest, sealSid, sidOfTarget } from './affinity-sid.ts';
import { type Balancer, createBalancer, eligible, type Member } from './balancers.ts';
import type { EndpointDiff } from './endpoint-diff.ts';
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
  /** Members by endpoint id: the next state of this backend starts from them. */
  #byId = new Map<string, Member>();
  #cookie: CookieTemplate | undefined;
  #key: Buffer;

  /**
   * Built by Upstreams; `previous` is the same backend id in the last snapshot, if any. With `diff` (from
   * diffEndpoints of the two endpoint lists) and the same policy objects, the members of unchanged endpoints
   * are the previous ones as they are (accumulators, cookie values) and only the changed ones are built.
   */
  constructor(config: Backend, ctx: BackendContext, previous?: BackendState, diff?: EndpointDiff) {
    this.config = config;
    this.#key = ctx.affinityKey;
    this.tls = upstreamTlsOptions(config, ctx.certificates);
    const reuse = previous?.config.balance === config.balance;
    this.#balancer = reuse ? previous.#balancer : newBalancer(config, ctx.random);
    if (config.affinity) {
      this.#cookie = new CookieTemplate(config.affinity, ctx.now);
      this.problem = this.#cookie.problem;
      if (this.problem !== undefined) this.#cookie = undefined;
    }
    if (previous !== undefined && diff !== undefined && previous.#patchable(config, this.#cookie)) {
      this.#members = this.#patchMembers(previous, diff, ctx);
      return;
    }
    const sameService = previous !== undefined && sameCookieInput(previous.config, config);
    if (this.#cookie !== undefined) this.#byCookie = new Map();
    this.#members = [];
    for (const e of config.endpoints) {
      const state = ctx.endpoints.get(e.id);
      if (state === undefined) continue;
      const before = previous === undefined ? undefined : previous.#byId.get(e.id);
      const cookieValue =
        this.#byCookie === undefined
          ? ''
          : sameService && before?.cookieValue
            ? before.cookieValue
            : affinityValue(ctx.affinityKey, config.service, e.id);
      const m = member(e, state, before?.current ?? 0, cookieValue);
      this.#members.push(m);
      this.#byId.set(e.id, m);
      this.#byCookie?.set(cookieValue, m);
    }
  }

  // Members of unchanged endpoints keep their object (and so their accumulator and cookie value). The maps
  // move over from `previous` and are edited for the changed endpoints only (copying 10,000 entries twice was
  // most of the patch): `previous` is retired, and a request still holding it can only find, by cookie, a
  // member that is current, or miss one that left and be balanced among its own members as before.
  #patchMembers(previous: BackendState, diff: EndpointDiff, ctx: BackendContext): Member[] {
    const config = this.config;
    const byId = previous.#byId;
    const byCookie = previous.#byCookie;
    previous.#byId = new Map();
    for (const e of diff.removed) {
      const m = byId.get(e.id);
      byId.delete(e.id);
      if (m !== undefined) byCookie?.delete(m.cookieValue);
    }
    const members: Member[] = [];
    const { kept } = diff;
    for (let j = 0; j < config.endpoints.length; j++) {
      const k = kept[j] as number;
      if (k >= 0) {
        members.push(previous.#members[k] as Member);
        continue;
      }
      const e = config.endpoints[j] as Endpoint;
      const state = ctx.endpoints.get(e.id);
      if (state === undefined) continue;
      const before = byId.get(e.id);
      const cookieValue =
        byCookie === undefined
          ? ''
          : (before?.cookieValue ?? affinityValue(ctx.affinityKey, config.service, e.id));
      const m = member(e, state, before?.current ?? 0, cookieValue);
      members.push(m);
      byId.set(e.id, m);
      byCookie?.set(cookieValue, m);
    }
    this.#byId = byId;
    this.#byCookie = byCookie;
    return members;
  }

  /**
   * Whether a backend `next` of this id can keep this state's members: the same balancer, Service and members,
   * and a cookie map wanted on both sides. A member's cookie value derives from the key, the Service and the
   * endpoint id, never from the cookie's name or attributes, so a changed affinity policy (a renamed cookie
   * on a Service of 10,000 endpoints) keeps them.
   */
  #patchable(next: Backend, nextCookie: CookieTemplate | undefined): boolean {
    const c = this.config;
    return (
      c.balance === next.balance &&
      sameCookieInput(c, next) &&
      this.#members.length === c.endpoints.length &&
      (this.#byCookie === undefined) === (this.#cookie === undefined) &&
      (this.#byCookie === undefined) === (nextCookie === undefined)
    );
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

function member(e: Endpoint, state: EndpointState, current: number, cookieValue: string): Member {
  const { ready, serving, terminating } = e;
  return { state, weight: clampWeight(e.weight), ready, serving, terminating, current, cookieValue };
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
