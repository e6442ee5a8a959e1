import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { KubeConfigError } from '../../shared/errors.ts';
import type { Publisher } from '../publisher.ts';
import { ClusterController, type ClusterController as Controller } from './cluster-controller.ts';
import { KubeRest } from './kube-rest.ts';
import type { LeaderTiming } from './leader-elector.ts';
import type { ControllerObserver } from './observer.ts';
import type { RetryOptions } from './supervised-informer.ts';

export type { BuildInfo, ControllerObserver, WatchedKind } from './observer.ts';

/** Settings of the cluster controller; the first group mirrors `serve` flags, the rest tunes timing. */
export interface ClusterControllerOptions {
  /** Path of a kubeconfig; absent: the in-cluster ServiceAccount. */
  kubeconfig?: string;
  /** Empty: every namespace. */
  watchNamespaces: string[];
  ingressClass: string;
  /** GatewayClass `spec.controllerName` of ours (status entries carry it); default `sticky-ingress.dev/controller`. */
  gatewayControllerName?: string;
  defaultCertificate?: string;
  publishService?: string;
  publishAddress: string[];
  leaderElection: boolean;
  leaderElectionNamespace: string;
  leaderElectionLease: string;
  /** This replica's identity in the Lease and in Events' reportingInstance. */
  podName: string;
  /** Rebuild holdoff: 100 ms after the last change, at most 500 ms after the first. */
  holdoffMs?: number;
  holdoffMaxMs?: number;
  retry?: Partial<RetryOptions>;
  leaderTiming?: Partial<LeaderTiming>;
  /** The leader rewrites status this often even when nothing changed (publish Service address). */
  statusResyncMs?: number;
}

/** What `startClusterController` hands back. */
export interface ClusterControllerHandle {
  /** True once the first snapshot built from a full listing is live. */
  ready(): boolean;
  isLeader(): boolean;
  close(): Promise<void>;
}

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromCluster();
  } catch (err) {
    throw new KubeConfigError(
      `cannot load ${path ? `kubeconfig ${path}` : 'the in-cluster config'}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  if (!kc.getCurrentCluster())
    throw new KubeConfigError(`kubeconfig ${path ?? '(in-cluster)'} has no current cluster`);
  return kc;
}

/**
 * Watches the cluster and publishes snapshots through `publisher`: returns once informers are started (not
 * synced: `ready()` tells). Never throws after that; an unreachable API keeps the last snapshot serving.
 * Throws KubeConfigError when the kubeconfig cannot be loaded. `options` may also be the parsed `serve`
 * settings as they are (`watchNamespace`, optional `podName`), which cmd/serve.ts passes.
 */
export async function startClusterController(
  options: ClusterControllerOptions | ServeSettings,
  deps: { publisher: Publisher; logger: Logger; observer?: ControllerObserver },
): Promise<ClusterControllerHandle> {
  return start('watchNamespaces' in options ? options : fromServeSettings(options), deps);
}

/** The `serve` settings this module reads (a subset of cmd/config.ts ServeConfig). */
export interface ServeSettings {
  kubeconfig?: string | undefined;
  watchNamespace: string[];
  ingressClass: string;
  gatewayControllerName?: string | undefined;
  defaultCertificate?: string | undefined;
  publishService?: string | undefined;
  publishAddress: string[];
  leaderElection: boolean;
  leaderElectionNamespace: string;
  leaderElectionLease: string;
  podName?: string | undefined;
}

function fromServeSettings(c: ServeSettings): ClusterControllerOptions {
  return {
    ...(c.kubeconfig ? { kubeconfig: c.kubeconfig } : {}),
    watchNamespaces: c.watchNamespace,
    ingressClass: c.ingressClass,
    ...(c.gatewayControllerName ? { gatewayControllerName: c.gatewayControllerName } : {}),
    ...(c.defaultCertificate ? { defaultCertificate: c.defaultCertificate } : {}),
    ...(c.publishService ? { publishService: c.publishService } : {}),
    publishAddress: c.publishAddress,
    leaderElection: c.leaderElection,
    leaderElectionNamespace: c.leaderElectionNamespace,
    leaderElectionLease: c.leaderElectionLease,
    // In a pod the hostname is the pod name (the chart also passes --pod-name from the downward API).
    podName: c.podName ?? hostname(),
  };
}

async function start(
  options: ClusterControllerOptions,
  deps: { publisher: Publisher; logger: Logger; observer?: ControllerObserver },
): Promise<ClusterControllerHandle> {
  const kc = loadKubeConfig(options.kubeconfig);
  const rest = new KubeRest(kc);
  const leaseDurationMs = options.leaderTiming?.leaseDurationMs ?? 15_000;
  const controller: Controller = new ClusterController({
    kubeconfig: kc,
    rest,
    publisher: deps.publisher,
    logger: deps.logger.child({ component: 'cluster-controller' }),
    ...(deps.observer ? { observer: deps.observer } : {}),
    options: {
      watchNamespaces: options.watchNamespaces,
      ingressClass: options.ingressClass,
      ...(options.gatewayControllerName ? { gatewayControllerName: options.gatewayControllerName } : {}),
      ...(options.defaultCertificate ? { defaultCertificate: options.defaultCertificate } : {}),
      ...(options.publishService ? { publishService: options.publishService } : {}),
      publishAddress: options.publishAddress,
      leaderElection: options.leaderElection,
      leaderElectionNamespace: options.leaderElectionNamespace,
      leaderElectionLease: options.leaderElectionLease,
      podName: options.podName,
      holdoffMs: options.holdoffMs ?? 100,
      holdoffMaxMs: options.holdoffMaxMs ?? 500,
      retry: { baseMs: 500, maxMs: 15_000, slowMs: 30_000, ...options.retry },
      leader: {
        leaseDurationMs,
        renewDeadlineMs: options.leaderTiming?.renewDeadlineMs ?? Math.round((leaseDurationMs * 2) / 3),
        retryPeriodMs: options.leaderTiming?.retryPeriodMs ?? 2_000,
      },
      statusResyncMs: options.statusResyncMs ?? 30_000,
    },
  });
  controller.start();
  return {
    ready: () => controller.ready,
    isLeader: () => controller.isLeader,
    close: () => controller.close(),
  };
}
