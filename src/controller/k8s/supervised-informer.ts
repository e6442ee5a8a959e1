import { ADD, DELETE, ERROR, type KubeConfig, ListWatch, UPDATE, Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Backoff } from './backoff.ts';
import type { KubeRest } from './kube-rest.ts';
import { statusOf } from './kube-rest.ts';
import type { ControllerObserver, WatchedKind } from './observer.ts';
import type { StoredObject } from './store.ts';

/** What one informer watches: a kind at a collection path (cluster-wide or one namespace). */
export interface InformerSpec {
  kind: WatchedKind;
  apiVersion: string;
  path: string;
  fieldSelector?: string;
  namespace?: string;
  /** Optional kinds (StickyRoute) may be forbidden or missing: the informer then settles empty-handed. */
  optional?: boolean;
}

/** One change an informer saw; the controller loop is the only consumer. */
export interface Change {
  kind: WatchedKind;
  op: 'upsert' | 'remove';
  object: StoredObject;
}

/** Retry timing; short values in tests. */
export interface RetryOptions {
  baseMs: number;
  maxMs: number;
  /** Forbidden (RBAC) or not found (CRD missing): retries back off up to this slow pace. */
  slowMs: number;
}

/** What an informer reports to and reads from; callbacks run on the informer's stack and must only enqueue. */
export interface InformerDeps {
  kubeconfig: KubeConfig;
  rest: KubeRest;
  logger: Logger;
  observer?: ControllerObserver;
  retry: RetryOptions;
  /** Every add/update/delete: must only enqueue. */
  onChange(change: Change): void;
  /** The informer listed once (or gave up for now on a forbidden / missing resource). */
  onSettled(): void;
}

/**
 * A client-node ListWatch that never stays down: it stops for good on a 5xx, a refused connection or a
 * failed start(), so every stop is followed by a restart with backoff and jitter. 410 Gone relists
 * (ListWatch drops its resourceVersion). 403 and 404 back off further, up to `slowMs` (a restarted API
 * server answers 403 until its RBAC cache syncs, so the first retries stay quick); an optional kind then
 * counts as settled (empty), a required one keeps the controller unready until it lists.
 */
export class SupervisedInformer {
  readonly #spec: InformerSpec;
  readonly #deps: InformerDeps;
  readonly #lw: ListWatch<StoredObject & { apiVersion?: string; kind?: string }>;
  readonly #backoff: Backoff;
  readonly #slowBackoff: Backoff;
  #settled = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #lastReason = '';

  constructor(spec: InformerSpec, deps: InformerDeps) {
    this.#spec = spec;
    this.#deps = deps;
    this.#backoff = new Backoff(deps.retry.baseMs, deps.retry.maxMs);
    this.#slowBackoff = new Backoff(deps.retry.baseMs, Math.max(deps.retry.baseMs, deps.retry.slowMs));
    const list = async () => {
      const query: Record<string, string> = spec.fieldSelector ? { fieldSelector: spec.fieldSelector } : {};
      const out = await deps.rest.list<StoredObject & { apiVersion?: string; kind?: string }>(
        spec.path,
        query,
      );
      // List items carry no apiVersion/kind (watch events do): stamp them so every object looks alike.
      for (const item of out.items) Object.assign(item, { apiVersion: spec.apiVersion, kind: spec.kind });
      this.#backoff.reset();
      this.#slowBackoff.reset();
      if (this.#lastReason)
        deps.logger.info({ kind: spec.kind, namespace: spec.namespace }, 'informer recovered');
      this.#lastReason = '';
      // After the ListWatch has delivered the listed items (it does so right after this promise resolves).
      setImmediate(() => this.#settle());
      return out as never;
    };
    this.#lw = new ListWatch(
      spec.path,
      new Watch(deps.kubeconfig),
      list,
      false,
      undefined,
      spec.fieldSelector,
    );
    this.#lw.on(ADD, (o) => deps.onChange({ kind: spec.kind, op: 'upsert', object: o }));
    this.#lw.on(UPDATE, (o) => deps.onChange({ kind: spec.kind, op: 'upsert', object: o }));
    this.#lw.on(DELETE, (o) => deps.onChange({ kind: spec.kind, op: 'remove', object: o }));
    this.#lw.on(ERROR, (err) => this.#failed(err));
  }

  get kind(): WatchedKind {
    return this.#spec.kind;
  }

  /** Listed once, or settled empty-handed on 403/404. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Starts listing and watching; failures are retried, never thrown. */
  start(): void {
    if (this.#closed) return;
    this.#lw.start().catch((err: unknown) => this.#failed(err));
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#lw.stop();
  }

  #settle(): void {
    if (this.#settled || this.#closed) return;
    this.#settled = true;
    this.#deps.onSettled();
  }

  #failed(err: unknown): void {
    if (this.#closed || this.#timer) return;
    const status = statusOf(err);
    const { logger, observer } = this.#deps;
    const reason =
      status === 403 ? 'forbidden' : status === 404 ? 'not-found' : status === 410 ? 'gone' : 'error';
    const slow = reason === 'forbidden' || reason === 'not-found';
    const delay = slow ? this.#slowBackoff.next() : this.#backoff.next();
    observer?.apiError?.(`watch ${this.#spec.kind}`, status);
    observer?.informerRestart?.(this.#spec.kind, reason, delay);
    const fields = { kind: this.#spec.kind, namespace: this.#spec.namespace, status, retryInMs: delay };
    if (reason !== this.#lastReason) {
      const message = (err as Error)?.message ?? String(err);
      if (slow && this.#spec.optional) logger.warn({ ...fields, err: message }, this.#explain(reason));
      else if (slow) logger.error({ ...fields, err: message }, this.#explain(reason));
      else logger.warn({ ...fields, err: message }, 'informer stopped; restarting with backoff');
    }
    this.#lastReason = reason;
    if (slow && this.#spec.optional) this.#settle();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.start();
    }, delay);
  }

  #explain(reason: string): string {
    const what =
      this.#spec.kind === 'StickyRoute' ? 'StickyRoutes are off' : `${this.#spec.kind} objects are not read`;
    return reason === 'forbidden'
      ? `${what}: RBAC forbids list/watch for this ServiceAccount; retrying slowly`
      : `${what}: the API server does not serve this resource (is the CRD installed?); retrying slowly`;
  }
}
