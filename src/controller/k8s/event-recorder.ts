import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Diagnostic } from '../view.ts';
import type { KubeRest } from './kube-rest.ts';
import { statusOf } from './kube-rest.ts';
import type { ControllerObserver } from './observer.ts';

const API_VERSIONS: Record<string, string> = {
  Ingress: 'networking.k8s.io/v1',
  IngressClass: 'networking.k8s.io/v1',
  Service: 'v1',
  Secret: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  StickyRoute: 'sticky-ingress.dev/v1alpha1',
};

/** How many written Event keys are remembered (least recently seen forgotten first). */
const EVENT_MEMORY = 4096;

/** events.k8s.io/v1 reportingController of every Event this controller writes. */
const REPORTING_CONTROLLER = 'sticky-ingress.dev/controller';

/**
 * Turns diagnostics into events.k8s.io/v1 Events, one per distinct object+reason+message. The Event's name
 * is derived from that triple, so a repeat (next build, another replica, a restart) is a 409 on create and
 * nothing new is written.
 */
export class EventRecorder {
  readonly #rest: KubeRest;
  readonly #logger: Logger;
  readonly #instance: string;
  readonly #observer: ControllerObserver | undefined;
  /**
   * Keys already written (or found to exist) by this process, to skip the request altogether. An LRU over a
   * Map's insertion order, at most `#memory` keys: a forgotten key costs one request answered 409, never a
   * duplicate Event, so the bound trades a request for memory that tenants could otherwise grow without end.
   */
  readonly #sent = new Map<string, true>();
  readonly #memory: number;

  constructor(opts: {
    rest: KubeRest;
    logger: Logger;
    instance: string;
    observer?: ControllerObserver;
    /** Keys remembered; EVENT_MEMORY by default. */
    memory?: number;
  }) {
    this.#rest = opts.rest;
    this.#logger = opts.logger;
    this.#instance = opts.instance;
    this.#observer = opts.observer;
    this.#memory = opts.memory ?? EVENT_MEMORY;
  }

  /** How many Event keys are remembered now (never more than the `memory` option). */
  get remembered(): number {
    return this.#sent.size;
  }

  #seen(digest: string): boolean {
    if (!this.#sent.has(digest)) return false;
    this.#sent.delete(digest); // refresh: most recently seen last
    this.#sent.set(digest, true);
    return true;
  }

  #remember(digest: string): void {
    this.#sent.set(digest, true);
    while (this.#sent.size > this.#memory) {
      const oldest = this.#sent.keys().next().value as string;
      this.#sent.delete(oldest);
    }
  }

  /** Writes an Event for every diagnostic not reported before; failures are logged, never thrown. */
  async record(
    diagnostics: readonly Diagnostic[],
    uidOf: (d: Diagnostic) => string | undefined,
  ): Promise<void> {
    for (const d of diagnostics) {
      const namespace = d.object.namespace || 'default';
      const digest = createHash('sha256')
        .update(JSON.stringify([d.object.kind, namespace, d.object.name, d.reason, d.message]))
        .digest('hex')
        .slice(0, 16);
      if (this.#seen(digest)) continue;
      const uid = d.object.uid ?? uidOf(d);
      const stamp = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
      const base = d.object.name
        .toLowerCase()
        .replace(/[^a-z0-9.-]/g, '-')
        .slice(0, 200);
      const event = {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: `${base}.${digest}`, namespace },
        eventTime: stamp,
        reportingController: REPORTING_CONTROLLER,
        reportingInstance: this.#instance,
        action: 'Build',
        reason: d.reason,
        note: (d.field ? `${d.field}: ${d.message}` : d.message).slice(0, 1024),
        type: 'Warning',
        regarding: {
          apiVersion: API_VERSIONS[d.object.kind] ?? 'v1',
          kind: d.object.kind,
          name: d.object.name,
          ...(d.object.namespace ? { namespace: d.object.namespace } : {}),
          ...(uid ? { uid } : {}),
        },
      };
      try {
        await this.#rest.request('POST', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`, event);
        this.#remember(digest);
      } catch (err) {
        const status = statusOf(err);
        if (status === 409) {
          this.#remember(digest);
          continue;
        }
        this.#observer?.apiError?.('create Event', status);
        this.#logger.warn(
          { err: (err as Error).message, object: `${namespace}/${d.object.name}` },
          'could not write Event',
        );
      }
    }
  }
}
