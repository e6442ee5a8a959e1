import type { Logger } from 'pino';
import type { ObjectStatus } from '../build/status.ts';
import { DEFAULT_CONTROLLER_NAME, type GatewayApiStatus } from '../gateway/index.ts';
import type { Diagnostic } from '../view.ts';
import type { EventRecorder } from './event-recorder.ts';
import type { KubeRest } from './kube-rest.ts';
import { type ControllerObserver, isWatchedKind } from './observer.ts';
import { type LoadBalancerIngress, StatusWriter } from './status-writer.ts';
import type { ClusterStore } from './store.ts';

/** The parts of a build result status sync reads; `statuses` is optional until every builder emits it. */
export interface BuildOutcome {
  diagnostics: readonly Diagnostic[];
  statuses?: readonly ObjectStatus[];
  /** Gateway API objects of ours; absent when there are none. */
  gatewayApi?: readonly GatewayApiStatus[];
}

type StatusOptions = {
  publishService?: string;
  publishAddress: string[];
  statusResyncMs: number;
  gatewayControllerName?: string;
};

/**
 * Runs the leader's write-back after each build and every `statusResyncMs` (the publish Service's address
 * can change without any watched object changing): one sync at a time, a request during a sync runs once
 * more after it. Followers do nothing.
 */
export class StatusSync {
  readonly #writer: StatusWriter;
  readonly #events: EventRecorder;
  readonly #store: ClusterStore;
  readonly #logger: Logger;
  readonly #opts: StatusOptions;
  #last: BuildOutcome | undefined;
  #leader = false;
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(deps: {
    rest: KubeRest;
    logger: Logger;
    observer: ControllerObserver | undefined;
    events: EventRecorder;
    store: ClusterStore;
    options: StatusOptions;
  }) {
    this.#writer = new StatusWriter({
      rest: deps.rest,
      logger: deps.logger,
      ...(deps.observer ? { observer: deps.observer } : {}),
    });
    this.#events = deps.events;
    this.#store = deps.store;
    this.#logger = deps.logger;
    this.#opts = deps.options;
  }

  /** A build finished; its diagnostics and statuses are what the next sync writes. */
  built(outcome: BuildOutcome): void {
    const last = this.#last;
    this.#last = outcome;
    // An endpoint-only change (the build's fast path, build/endpoint-patch.ts) hands over the very same
    // diagnostics, statuses and Gateway API results: nothing to write, and a sync walks every Ingress we own
    // (O(all) per EndpointSlice event at 10,000 Ingresses). The periodic resync still runs.
    if (
      last !== undefined &&
      last.diagnostics === outcome.diagnostics &&
      last.statuses === outcome.statuses &&
      last.gatewayApi === outcome.gatewayApi
    )
      return;
    this.kick();
  }

  setLeader(leader: boolean): void {
    this.#leader = leader;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (!leader || this.#closed) return;
    this.#timer = setInterval(() => this.kick(), this.#opts.statusResyncMs);
    this.#timer.unref();
    this.kick();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }

  /** Runs a sync now (or right after the running one). No-op for followers. */
  kick(): void {
    if (!this.#leader || this.#closed || !this.#last) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#sync()
      .catch((err: unknown) => this.#logger.warn({ err: (err as Error).message }, 'status sync failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  async #sync(): Promise<void> {
    const outcome = this.#last;
    if (!outcome) return;
    const { publishService, publishAddress } = this.#opts;
    let addresses: LoadBalancerIngress[] | undefined;
    if (publishService || publishAddress.length > 0) {
      try {
        addresses = await this.#writer.addresses(publishService, publishAddress);
      } catch {
        addresses = undefined; // logged by the writer; Ingress status waits for the next sync
      }
      if (addresses && this.#leader) await this.#writer.syncIngresses(this.#store.ownIngresses(), addresses);
    }
    if (!this.#leader) return;
    // Gateway status.addresses come from the same source as Ingress status.loadBalancer (left as stored
    // when none is configured or it cannot be read now).
    await this.#writer.syncGatewayApi(
      outcome.gatewayApi ?? [],
      (kind, ns, name) => this.#store.get(kind, ns, name),
      this.#store.list('HTTPRoute'),
      addresses,
      this.#opts.gatewayControllerName ?? DEFAULT_CONTROLLER_NAME,
    );
    if (!this.#leader) return;
    await this.#writer.syncStickyRoutes(outcome.statuses ?? [], (ns, name) =>
      this.#store.get('StickyRoute', ns, name),
    );
    if (!this.#leader) return;
    // A diagnostic may be about no stored object (kind `Build`: an internal build error): no uid to look up.
    await this.#events.record(outcome.diagnostics, (d) => {
      const { kind, namespace, name } = d.object;
      if (!isWatchedKind(kind)) return undefined;
      return this.#store.get<{ metadata?: { uid?: string } }>(kind, namespace, name)?.metadata?.uid;
    });
  }
}
