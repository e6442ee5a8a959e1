import type { Logger } from 'pino';
import { InvalidOptionError, KubeRequestError, RenewDeadlineError } from '../../shared/errors.ts';
import type { KubeRest } from './kube-rest.ts';
import { statusOf } from './kube-rest.ts';

/** Timing of the election; client-go's defaults are 15 s / 10 s / 2 s. */
export interface LeaderTiming {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** metav1.MicroTime wants RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, client-go style: optimistic concurrency on
 * resourceVersion (a 409 means someone else wrote first), expiry judged by the local clock from when the
 * record was last seen to change (no clock-skew trust), the leader steps down when it cannot renew within
 * the renew deadline, and releases the Lease on close so a successor need not wait for expiry.
 */
export class LeaderElector {
  readonly #rest: KubeRest;
  readonly #path: string;
  readonly #collection: string;
  readonly #name: string;
  readonly #namespace: string;
  readonly #identity: string;
  readonly #timing: LeaderTiming;
  readonly #logger: Logger;
  readonly #onChange: (leader: boolean) => void;
  #leader = false;
  #lastRenew = 0;
  #observed: { record: string; at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(opts: {
    rest: KubeRest;
    namespace: string;
    name: string;
    identity: string;
    timing: LeaderTiming;
    logger: Logger;
    onChange: (leader: boolean) => void;
  }) {
    if (!(opts.timing.leaseDurationMs > opts.timing.renewDeadlineMs))
      throw new InvalidOptionError('leader election', 'leaseDurationMs', 'must exceed the renew deadline');
    this.#rest = opts.rest;
    this.#namespace = opts.namespace;
    this.#name = opts.name;
    this.#identity = opts.identity;
    this.#timing = opts.timing;
    this.#logger = opts.logger;
    this.#onChange = opts.onChange;
    this.#collection = `/apis/coordination.k8s.io/v1/namespaces/${opts.namespace}/leases`;
    this.#path = `${this.#collection}/${opts.name}`;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  start(): void {
    this.#tick();
  }

  /** Stops campaigning; a leader releases the Lease (holderIdentity cleared). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    if (!this.#leader) return;
    this.#setLeader(false);
    try {
      const lease = await this.#rest.request<Lease>('GET', this.#path);
      if (lease.spec.holderIdentity !== this.#identity) return;
      const now = microTime(Date.now());
      lease.spec = {
        ...lease.spec,
        holderIdentity: null,
        leaseDurationSeconds: 1,
        renewTime: now,
        acquireTime: now,
      };
      await this.#rest.request('PUT', this.#path, lease);
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'could not release the leader Lease');
    }
  }

  #tick(): void {
    if (this.#closed) return;
    // client-go's renew deadline: a leader whose renew has not succeeded by lastRenew + renewDeadline gives up
    // at that moment, even while the request hangs, and the request is aborted. renewDeadline < leaseDuration,
    // and others count the lease's duration from when they saw our last renew (which started after lastRenew),
    // so we stop writing before anyone else can take over: never two leaders.
    const deadline = this.#leader
      ? this.#lastRenew + this.#timing.renewDeadlineMs
      : Date.now() + this.#timing.renewDeadlineMs;
    const abort = new AbortController();
    const expire = setTimeout(
      () => {
        abort.abort(new RenewDeadlineError());
        if (this.#leader) {
          this.#logger.warn(
            { renewDeadlineMs: this.#timing.renewDeadlineMs },
            'leader election: renew deadline passed',
          );
          this.#setLeader(false);
        }
      },
      Math.max(0, deadline - Date.now()),
    );
    this.#running = this.#attempt(abort.signal)
      .catch((err: unknown) => this.#attemptFailed(err))
      .finally(() => {
        clearTimeout(expire);
        this.#running = undefined;
        if (this.#closed) return;
        this.#timer = setTimeout(() => this.#tick(), this.#timing.retryPeriodMs);
      });
  }

  async #attempt(signal: AbortSignal): Promise<void> {
    const now = Date.now();
    const request = <T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) =>
      this.#rest.request<T>(method, path, body, undefined, signal);
    const seconds = Math.ceil(this.#timing.leaseDurationMs / 1000);
    let lease: Lease | undefined;
    try {
      lease = await request<Lease>('GET', this.#path);
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    if (!lease) {
      const stamp = microTime(now);
      await request('POST', this.#collection, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.#name, namespace: this.#namespace },
        spec: {
          holderIdentity: this.#identity,
          leaseDurationSeconds: seconds,
          acquireTime: stamp,
          renewTime: stamp,
          leaseTransitions: 0,
        },
      });
      return this.#won(now, signal);
    }
    const record = JSON.stringify(lease.spec);
    if (this.#observed?.record !== record) this.#observed = { record, at: now };
    const holder = lease.spec.holderIdentity ?? '';
    const duration = (lease.spec.leaseDurationSeconds ?? seconds) * 1000;
    const expired = holder === '' || this.#observed.at + duration < now;
    if (holder !== this.#identity && !expired) {
      if (this.#leader) this.#setLeader(false);
      return;
    }
    const stamp = microTime(now);
    const taking = holder !== this.#identity;
    lease.spec = {
      ...lease.spec,
      holderIdentity: this.#identity,
      leaseDurationSeconds: seconds,
      renewTime: stamp,
      ...(taking ? { acquireTime: stamp, leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 } : {}),
    };
    // PUT carries metadata.resourceVersion: a concurrent writer makes this a 409, never a double leader.
    await request('PUT', this.#path, lease);
    this.#won(now, signal);
  }

  #won(now: number, signal: AbortSignal): void {
    // An answer that arrives after the deadline fired is not a renew we may act on (we already stepped down).
    if (signal.aborted) return;
    this.#lastRenew = now;
    this.#observed = undefined;
    if (!this.#leader) this.#setLeader(true);
  }

  #attemptFailed(err: unknown): void {
    const conflict = err instanceof KubeRequestError && err.statusCode === 409;
    if (!conflict)
      this.#logger.warn({ err: (err as Error).message }, 'leader election: Lease request failed');
    if (this.#leader && (conflict || Date.now() - this.#lastRenew > this.#timing.renewDeadlineMs)) {
      this.#setLeader(false);
    }
  }

  #setLeader(leader: boolean): void {
    this.#leader = leader;
    this.#logger.info(
      { identity: this.#identity, lease: `${this.#namespace}/${this.#name}` },
      leader ? 'became leader' : 'lost leadership',
    );
    this.#onChange(leader);
  }
}
