import type { RateLimits, Route } from '../../snapshot/index.ts';
import { CidrSet } from '../front/cidr.ts';

/**
 * ingress-nginx `limit-rps` / `limit-rpm` / `limit-connections`, per client address and per route, in one
 * dataplane process. Token buckets (nginx limit_req with `burst` and `nodelay`: a burst of rate x multiplier is
 * admitted at once, then the rate) and in-progress counters (limit_conn). Above either: 503, like ingress-nginx.
 *
 * Memory is bounded: each route tracks at most MAX_CLIENTS addresses (plus those with a request in progress);
 * the least recently seen idle one is forgotten first (nginx evicts its zone's LRU state the same way), about
 * 80 bytes each, so ~1.3 MiB per limited route.
 * With `--workers N` every worker keeps its own state and admits `ceil(limit / N)`: the kernel spreads
 * connections evenly across workers, so the total stays close to the limit without shared memory.
 */
export const MAX_CLIENTS = 16_384;

interface Client {
  tokensRps: number;
  tokensRpm: number;
  at: number;
  inFlight: number;
}

class RouteLimiter {
  readonly limits: RateLimits;
  readonly #whitelist: CidrSet;
  readonly #clients = new Map<string, Client>();
  readonly #share: number;

  constructor(limits: RateLimits, share: number) {
    this.limits = limits;
    this.#share = share;
    this.#whitelist = new CidrSet(limits.whitelist);
  }

  /** Admits one request of `address` at time `now` (ms); false means 503. Call release() when it ends. */
  admit(address: string, now: number): boolean {
    if (this.#whitelist.has(address)) return true;
    const l = this.limits;
    const rps = l.rps === undefined ? 0 : Math.ceil(l.rps / this.#share);
    const rpm = l.rpm === undefined ? 0 : Math.ceil(l.rpm / this.#share);
    let c = this.#clients.get(address);
    if (c === undefined) {
      c = { tokensRps: rps * l.burstMultiplier, tokensRpm: rpm * l.burstMultiplier, at: now, inFlight: 0 };
      if (this.#clients.size >= MAX_CLIENTS) this.#evict();
    } else {
      this.#clients.delete(address); // re-inserted below: Map order is recency order
      const dt = Math.max(0, now - c.at) / 1000;
      c.tokensRps = Math.min(rps * l.burstMultiplier, c.tokensRps + dt * rps);
      c.tokensRpm = Math.min(rpm * l.burstMultiplier, c.tokensRpm + (dt * rpm) / 60);
      c.at = now;
    }
    this.#clients.set(address, c);
    const connections = l.connections === undefined ? 0 : Math.ceil(l.connections / this.#share);
    // ingress-nginx applies limit-connections, then limit-rpm, then limit-rps.
    if (connections > 0 && c.inFlight >= connections) return false;
    if (rpm > 0 && c.tokensRpm < 1) return false;
    if (rps > 0 && c.tokensRps < 1) return false;
    if (rpm > 0) c.tokensRpm -= 1;
    if (rps > 0) c.tokensRps -= 1;
    c.inFlight++;
    return true;
  }

  release(address: string): void {
    const c = this.#clients.get(address);
    if (c !== undefined && c.inFlight > 0) c.inFlight--;
  }

  get tracked(): number {
    return this.#clients.size;
  }

  // The least recently seen client without a request in progress (its counter must stay right).
  #evict(): void {
    for (const [address, c] of this.#clients) {
      if (c.inFlight === 0) {
        this.#clients.delete(address);
        return;
      }
    }
  }
}

/** The limiters of every limited route, by route id; they survive snapshot swaps while the limits are equal. */
export class RateLimiters {
  readonly #share: number;
  #byRoute = new Map<string, RouteLimiter>();

  /** `share`: the number of dataplane processes the limits are split across (`--workers`). */
  constructor(share = 1) {
    this.#share = Math.max(1, Math.floor(share));
  }

  /** Keeps the state of routes whose limits did not change; drops the rest. Called at apply(). */
  update(routes: Iterable<Route>): void {
    const next = new Map<string, RouteLimiter>();
    for (const r of routes) {
      if (r.limits === undefined) continue;
      const seen = this.#byRoute.get(r.id);
      next.set(
        r.id,
        seen && sameLimits(seen.limits, r.limits) ? seen : new RouteLimiter(r.limits, this.#share),
      );
    }
    this.#byRoute = next;
  }

  /**
   * update() for what changed only (issue 13 item 3): the routes of the hosts that left and of those that came
   * (a replaced host in both). A route that stays with equal limits keeps its state; the others as update().
   */
  patch(removed: Iterable<Route>, added: Iterable<Route>): void {
    const left = new Map<string, RouteLimiter>();
    for (const r of removed) {
      const limiter = this.#byRoute.get(r.id);
      if (limiter === undefined) continue;
      left.set(r.id, limiter);
      this.#byRoute.delete(r.id);
    }
    for (const r of added) {
      if (r.limits === undefined) continue;
      const seen = this.#byRoute.get(r.id) ?? left.get(r.id);
      this.#byRoute.set(
        r.id,
        seen && sameLimits(seen.limits, r.limits) ? seen : new RouteLimiter(r.limits, this.#share),
      );
    }
  }

  /** The limits in force for `routeId`, or undefined when it has none (explain, tests). */
  limitsOf(routeId: string): RateLimits | undefined {
    return this.#byRoute.get(routeId)?.limits;
  }

  /**
   * Admits a request of `address` on `route`; returns the release function to call when the request ends,
   * or undefined when a limit is reached (answer 503).
   */
  admit(route: Route, address: string, now: number): (() => void) | null | undefined {
    const limiter = this.#byRoute.get(route.id);
    if (limiter === undefined) return null;
    if (!limiter.admit(address, now)) return undefined;
    return () => limiter.release(address);
  }

  /** Addresses tracked for `routeId` (tests, the memory bound). */
  tracked(routeId: string): number {
    return this.#byRoute.get(routeId)?.tracked ?? 0;
  }
}

function sameLimits(a: RateLimits, b: RateLimits): boolean {
  return (
    a.rps === b.rps &&
    a.rpm === b.rpm &&
    a.connections === b.connections &&
    a.burstMultiplier === b.burstMultiplier &&
    a.whitelist.join(',') === b.whitelist.join(',')
  );
}
