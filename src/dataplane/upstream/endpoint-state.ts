import type { Endpoint, PassiveHealthCheck } from '../../snapshot/index.ts';

/**
 * The live state of one endpoint id, shared by every backend that lists it and kept across snapshot swaps:
 * in-flight count, totals, and the health verdicts (passive ejection, active checks).
 */
export class EndpointState {
  readonly id: string;
  address: string;
  port: number;
  /** Last seen EndpointSlice conditions and weight (for stats; balancers use each backend's own copy). */
  weight: number;
  ready: boolean;
  terminating: boolean;
  /** In-flight requests + open tunnels. */
  active = 0;
  /** Totals since this id first appeared, for stats. */
  requests = 0;
  failures = 0;

  #now: () => number;
  #passive: PassiveHealthCheck;
  #consecutiveFailures = 0;
  /** Time the passive ejection ends; 0 when not ejected (so `healthy` reads the clock only while ejected). */
  #ejectedUntil = 0;
  /** Active checkers (one per health path) currently reporting this endpoint unhealthy. */
  #failingChecks = new Set<string>();
  #onEject: ((id: string, cooldownMs: number) => void) | undefined;

  /** Created by Upstreams; `now` is the injectable clock used for passive-ejection cooldowns. */
  constructor(
    endpoint: Endpoint,
    passive: PassiveHealthCheck,
    now: () => number,
    onEject?: (id: string, cooldownMs: number) => void,
  ) {
    this.id = endpoint.id;
    this.address = endpoint.address;
    this.port = endpoint.port;
    this.weight = endpoint.weight;
    this.ready = endpoint.ready;
    this.terminating = endpoint.terminating;
    this.#passive = passive;
    this.#now = now;
    this.#onEject = onEject;
  }

  /**
   * Refreshes address, flags and passive-health policy in place when the id survives a swap. When several
   * backends list the id with different passive policies, the first backend in snapshot order wins.
   */
  apply(endpoint: Endpoint, passive: PassiveHealthCheck): void {
    this.address = endpoint.address;
    this.port = endpoint.port;
    this.weight = endpoint.weight;
    this.ready = endpoint.ready;
    this.terminating = endpoint.terminating;
    this.#passive = passive;
  }

  /** False while ejected by passive health or failed by any active check. */
  get healthy(): boolean {
    if (this.#failingChecks.size > 0) return false;
    if (this.#ejectedUntil === 0) return true;
    if (this.#now() < this.#ejectedUntil) return false;
    // Cooldown over: eligible again, but the failure count is kept so one more failure re-ejects (half-open).
    this.#ejectedUntil = 0;
    return true;
  }

  /** True while a passive ejection is in force (stats). */
  get ejected(): boolean {
    return this.#ejectedUntil !== 0 && this.#now() < this.#ejectedUntil;
  }

  /** Call when a request or tunnel starts using this endpoint. */
  acquire(): void {
    this.active++;
    this.requests++;
  }

  /** Call exactly once per acquire(), when the request or tunnel ends. */
  release(): void {
    if (this.active > 0) this.active--;
  }

  /** Passive health input: a TCP/TLS connect to this endpoint failed. */
  connectFailed(): void {
    this.failures++;
    this.#consecutiveFailures++;
    const { failures, cooldownMs } = this.#passive;
    if (failures > 0 && this.#consecutiveFailures >= failures) {
      this.#ejectedUntil = this.#now() + cooldownMs;
      this.#onEject?.(this.id, cooldownMs);
    }
  }

  /** Passive health input: a connect succeeded; clears the consecutive-failure count. */
  connectSucceeded(): void {
    this.#consecutiveFailures = 0;
    this.#ejectedUntil = 0;
  }

  /** Records one active checker's verdict; `key` names the checker (its path). Used by Upstreams. */
  setCheckHealthy(key: string, healthy: boolean): void {
    if (healthy) this.#failingChecks.delete(key);
    else this.#failingChecks.add(key);
  }
}
