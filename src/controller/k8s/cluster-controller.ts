import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Publisher, PublishResult } from '../publisher.ts';
import type { Diagnostic } from '../view.ts';
import { EventRecorder } from './event-recorder.ts';
import { Holdoff } from './holdoff.ts';
import type { ClusterControllerOptions } from './index.ts';
import { informerSpecs, namespaceInformerSpec } from './informer-specs.ts';
import type { KubeRest } from './kube-rest.ts';
import { LeaderElector, type LeaderTiming } from './leader-elector.ts';
import type { ControllerObserver } from './observer.ts';
import { StatusSync } from './status-sync.ts';
import { ClusterStore } from './store.ts';
import {
  type Change,
  type InformerSpec,
  type RetryOptions,
  SupervisedInformer,
} from './supervised-informer.ts';

/** Pause before building again after a failed publish (the build thread died). */
const RETRY_AFTER_FAILURE_MS = 1_000;

/** Everything the controller is configured with, after defaults: the settings, with the tuning filled in. */
export type ResolvedOptions = Omit<ClusterControllerOptions, 'kubeconfig' | keyof Tuning | 'leaderTiming'> &
  Required<Tuning> & { leader: LeaderTiming; retry: RetryOptions };

type Tuning = Pick<ClusterControllerOptions, 'holdoffMs' | 'holdoffMaxMs' | 'statusResyncMs'>;

/**
 * Contour's shape: informers only enqueue `{kind, op, object}`; one drain owns the store (its only writer);
 * relevant changes arm the holdoff; the holdoff publishes a view once every informer has listed; the leader
 * writes status and Events after each build.
 */
export class ClusterController {
  readonly #publisher: Publisher;
  readonly #logger: Logger;
  readonly #observer: ControllerObserver | undefined;
  readonly #store: ClusterStore;
  readonly #informers: SupervisedInformer[];
  /** The Namespace informer, started (and added to #informers) once a GatewayClass is stored. */
  #namespaces: SupervisedInformer | undefined;
  readonly #startNamespaces: () => SupervisedInformer;
  readonly #holdoff: Holdoff;
  readonly #elector: LeaderElector | undefined;
  readonly #status: StatusSync;
  readonly #publishService: string | undefined;
  #queue: Change[] = [];
  #draining = false;
  #published = false;
  #leader: boolean;
  /** A publish is running (the build thread); a rebuild asked for meanwhile runs once after it. */
  #building = false;
  #rebuildAgain = false;
  #logged = new Set<string>();
  #loggedList: readonly Diagnostic[] | undefined;
  #closed = false;

  constructor(deps: {
    kubeconfig: KubeConfig;
    rest: KubeRest;
    options: ResolvedOptions;
    publisher: Publisher;
    logger: Logger;
    observer?: ControllerObserver;
  }) {
    const { options, logger, observer, rest } = deps;
    this.#publisher = deps.publisher;
    this.#logger = logger;
    this.#observer = observer;
    this.#store = new ClusterStore(options);
    this.#publishService = options.publishService;
    this.#holdoff = new Holdoff(() => this.#rebuild(), options.holdoffMs, options.holdoffMaxMs);
    const informer = (spec: InformerSpec) =>
      new SupervisedInformer(spec, {
        kubeconfig: deps.kubeconfig,
        rest,
        logger,
        ...(observer ? { observer } : {}),
        retry: options.retry,
        onChange: (change) => this.#enqueue(change),
        onSettled: () => this.#onSettled(),
      });
    this.#informers = informerSpecs(options.watchNamespaces).map(informer);
    this.#startNamespaces = () => informer(namespaceInformerSpec());
    const events = new EventRecorder({
      rest,
      logger,
      instance: options.podName,
      ...(observer ? { observer } : {}),
    });
    this.#status = new StatusSync({ rest, logger, observer, events, store: this.#store, options });
    this.#leader = !options.leaderElection;
    if (options.leaderElection) {
      this.#elector = new LeaderElector({
        rest,
        namespace: options.leaderElectionNamespace,
        name: options.leaderElectionLease,
        identity: options.podName,
        timing: options.leader,
        logger,
        onChange: (leader) => this.#onLeader(leader),
      });
    }
  }

  get ready(): boolean {
    return this.#published;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  start(): void {
    for (const informer of this.#informers) informer.start();
    this.#elector?.start();
    if (this.#leader) this.#status.setLeader(true);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#holdoff.close();
    await Promise.all(this.#informers.map((i) => i.close()));
    await this.#status.close();
    await this.#elector?.close();
  }

  #enqueue(change: Change): void {
    if (this.#closed) return;
    this.#queue.push(change);
    if (this.#draining) return;
    this.#draining = true;
    setImmediate(() => this.#drain());
  }

  #drain(): void {
    this.#draining = false;
    const batch = this.#queue;
    this.#queue = [];
    let relevant = false;
    let publishChanged = false;
    for (const { kind, op, object } of batch) {
      const changed = op === 'upsert' ? this.#store.upsert(kind, object) : this.#store.remove(kind, object);
      relevant = changed || relevant;
      if (kind === 'GatewayClass' && op === 'upsert') this.#watchNamespaces();
      if (
        kind === 'Service' &&
        this.#publishService === `${object.metadata?.namespace}/${object.metadata?.name}`
      ) {
        publishChanged = true;
      }
    }
    if (relevant) this.#holdoff.trigger();
    // The publish Service's address goes into Ingress status, not the snapshot: no rebuild, just a sync.
    else if (publishChanged) this.#status.kick();
  }

  // Gateway API in use: Namespace labels now decide Selector listeners. Until it lists, no build runs (every
  // informer must have settled), so a Selector never sees an empty namespace list that is not the truth.
  #watchNamespaces(): void {
    if (this.#namespaces !== undefined || this.#closed) return;
    this.#namespaces = this.#startNamespaces();
    this.#informers.push(this.#namespaces);
    this.#namespaces.start();
  }

  #onSettled(): void {
    if (this.#informers.every((i) => i.settled)) this.#holdoff.trigger();
  }

  #rebuild(): void {
    if (this.#closed || !this.#informers.every((i) => i.settled)) return;
    if (this.#building) {
      this.#rebuildAgain = true;
      return;
    }
    this.#building = true;
    void this.#publish().finally(() => {
      this.#building = false;
      if (!this.#rebuildAgain) return;
      this.#rebuildAgain = false;
      this.#rebuild();
    });
  }

  async #publish(): Promise<void> {
    let out: PublishResult;
    try {
      out = await this.#publisher.publish(this.#store.view());
    } catch (err) {
      // build() never throws by contract; the build thread can fail: keep serving the last snapshot.
      this.#logger.error({ err }, 'build failed; keeping the last snapshot');
      // The view it could not build is still the truth: try again (a new build thread) after a pause.
      if (!this.#closed) setTimeout(() => this.#holdoff.trigger(), RETRY_AFTER_FAILURE_MS).unref();
      return;
    }
    if (this.#closed) return;
    this.#report(out);
  }

  #report(out: PublishResult): void {
    const diagnostics = out.result.diagnostics;
    this.#observer?.build?.({
      durationMs: out.buildMs,
      changed: out.changed,
      version: out.snapshot.version,
      diagnostics: diagnostics.length,
    });
    const byKind: Record<string, number> = {};
    for (const d of diagnostics) byKind[d.object.kind] = (byKind[d.object.kind] ?? 0) + 1;
    this.#observer?.invalidObjects?.(byKind);
    this.#logDiagnostics(diagnostics);
    if (out.changed) {
      this.#logger.info(
        { version: out.snapshot.version, buildMs: Math.round(out.buildMs * 10) / 10 },
        'snapshot published',
      );
    }
    if (!this.#published) {
      this.#published = true;
      this.#logger.info({ version: out.snapshot.version }, 'cluster controller ready');
    }
    this.#status.built(out.result);
  }

  #logDiagnostics(diagnostics: readonly Diagnostic[]): void {
    // The endpoint fast path hands over the last build's very list: every line was logged already.
    if (diagnostics === this.#loggedList) return;
    this.#loggedList = diagnostics;
    const now = new Set<string>();
    for (const d of diagnostics) {
      const key = `${d.object.kind}/${d.object.namespace}/${d.object.name}/${d.reason}/${d.message}`;
      now.add(key);
      if (this.#logged.has(key)) continue;
      const line = {
        kind: d.object.kind,
        object: `${d.object.namespace}/${d.object.name}`,
        reason: d.reason,
        field: d.field,
      };
      if (d.severity === 'Error') this.#logger.error(line, d.message);
      else this.#logger.warn(line, d.message);
    }
    this.#logged = now;
  }

  #onLeader(leader: boolean): void {
    this.#leader = leader;
    this.#observer?.leader?.(leader);
    this.#status.setLeader(leader);
  }
}
