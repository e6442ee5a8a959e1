import { type ClientRequest, request } from 'node:http';
import type { ActiveHealthCheck } from '../../snapshot/index.ts';
import type { EndpointState } from './endpoint-state.ts';

/**
 * Probes one endpoint with HTTP GET `path` every `intervalMs` (2xx/3xx healthy) and reports a flip after
 * `healthyThreshold` / `unhealthyThreshold` consecutive results. Starts healthy: Kubernetes readiness already
 * gates new endpoints, and starting unhealthy would 503 a fresh backend until its first probes pass.
 * Timers and sockets are unref'd, so a forgotten checker never holds the process open; close() stops it.
 */
export class HealthChecker {
  readonly endpoint: EndpointState;
  readonly path: string;
  /** Replaced in place when a new snapshot changes interval, timeout or thresholds. */
  check: ActiveHealthCheck;
  #onFlip: (checker: HealthChecker, healthy: boolean) => void;
  #healthy = true;
  #streak = 0;
  #timer: NodeJS.Timeout | undefined;
  #request: ClientRequest | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    endpoint: EndpointState,
    check: ActiveHealthCheck,
    onFlip: (checker: HealthChecker, healthy: boolean) => void,
  ) {
    this.endpoint = endpoint;
    this.path = check.path;
    this.check = check;
    this.#onFlip = onFlip;
  }

  /** The current verdict of this checker. */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** True while a probe is scheduled or in flight (tests use it to prove close() stopped everything). */
  get running(): boolean {
    return this.#timer !== undefined || this.#request !== undefined;
  }

  /** Schedules the first probe after a random part of one interval, so many checkers do not fire at once. */
  start(random: () => number): void {
    if (this.#closed || this.running) return;
    this.#schedule(Math.floor(random() * intervalOf(this.check)));
  }

  /** Stops the timers and aborts a probe in flight; no flip is reported afterwards. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#probeTimer);
    this.#timer = undefined;
    this.#probeTimer = undefined;
    const req = this.#request;
    this.#request = undefined;
    req?.destroy();
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => this.#probe(), delayMs);
    this.#timer.unref();
  }

  #probe(): void {
    this.#timer = undefined;
    const { address, port } = this.endpoint;
    const host = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(this.#probeTimer);
      this.#probeTimer = undefined;
      const req = this.#request;
      this.#request = undefined;
      req?.destroy();
      if (this.#closed) return;
      this.#record(ok);
      this.#schedule(intervalOf(this.check));
    };
    let req: ClientRequest;
    try {
      req = request({
        host: address,
        port,
        path: this.path,
        method: 'GET',
        agent: false,
        headers: { host, 'user-agent': 'sticky-ingress-health-check', connection: 'close' },
      });
    } catch {
      // A path or address node:http refuses is a failed probe, not a crash; Upstreams validates paths first.
      done(false);
      return;
    }
    this.#request = req;
    req.on('socket', (socket) => socket.unref());
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      done(status >= 200 && status < 400);
    });
    req.on('error', () => done(false));
    this.#probeTimer = setTimeout(() => done(false), Math.max(1, this.check.timeoutMs));
    this.#probeTimer.unref();
    req.end();
  }

  #record(ok: boolean): void {
    if (ok === this.#healthy) {
      this.#streak = 0;
      return;
    }
    this.#streak++;
    const needed = ok ? this.check.healthyThreshold : this.check.unhealthyThreshold;
    if (this.#streak >= Math.max(1, needed)) {
      this.#healthy = ok;
      this.#streak = 0;
      this.#onFlip(this, ok);
    }
  }
}

/** A zero or negative interval from a bad snapshot must not become a busy loop. */
function intervalOf(check: ActiveHealthCheck): number {
  return Number.isFinite(check.intervalMs) ? Math.max(10, check.intervalMs) : 10_000;
}
