import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { ObjectStatus } from '../build/status.ts';
import type { GatewayApiStatus } from '../gateway/status.ts';
import { desiredStatus, routeParents, type StoredGatewayStatus, sameStatus } from './gateway-status.ts';
import type { KubeRest } from './kube-rest.ts';
import { statusOf } from './kube-rest.ts';
import type { ControllerObserver } from './observer.ts';

/** One entry of status.loadBalancer.ingress. */
export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
}

/** A status condition before the writer adds observedGeneration and lastTransitionTime. */
export interface BuildCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

interface Condition extends BuildCondition {
  observedGeneration?: number;
  lastTransitionTime: string;
}

interface Statused {
  metadata?: { name?: string; namespace?: string; generation?: number };
  status?: {
    observedGeneration?: number;
    conditions?: Condition[];
    loadBalancer?: { ingress?: LoadBalancerIngress[] };
  };
}

/** A stored Gateway API object, as far as the status writer reads it. */
export interface GatewayStored {
  metadata?: { name?: string; namespace?: string; generation?: number };
  status?: StoredGatewayStatus;
}

const GATEWAY_V1 = 'gateway.networking.k8s.io/v1';

const sameAddresses = (a: LoadBalancerIngress[] | undefined, b: LoadBalancerIngress[]) =>
  JSON.stringify((a ?? []).map((x) => [x.ip ?? '', x.hostname ?? ''])) ===
  JSON.stringify(b.map((x) => [x.ip ?? '', x.hostname ?? '']));

/**
 * Writes what the leader knows back to the API: Ingress status.loadBalancer and StickyRoute conditions,
 * through the status subresource with the object's resourceVersion (RBAC grants `update` only). A 409
 * means the informer will deliver a newer object, and the next sync retries.
 */
export class StatusWriter {
  readonly #rest: KubeRest;
  readonly #logger: Logger;
  readonly #observer: ControllerObserver | undefined;

  constructor(opts: { rest: KubeRest; logger: Logger; observer?: ControllerObserver }) {
    this.#rest = opts.rest;
    this.#logger = opts.logger;
    this.#observer = opts.observer;
  }

  /** The addresses to publish: the publish Service's LB ingress, else its ClusterIPs; plus `publishAddress`. */
  async addresses(
    publishService: string | undefined,
    publishAddress: readonly string[],
  ): Promise<LoadBalancerIngress[]> {
    const out: LoadBalancerIngress[] = [];
    if (publishService) {
      const [ns, name] = publishService.split('/');
      try {
        const svc = await this.#rest.request<{
          spec?: { clusterIPs?: string[]; clusterIP?: string };
          status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } };
        }>('GET', `/api/v1/namespaces/${ns}/services/${name}`);
        const lb = svc.status?.loadBalancer?.ingress ?? [];
        if (lb.length > 0) out.push(...lb.map((i) => (i.ip ? { ip: i.ip } : { hostname: i.hostname ?? '' })));
        else {
          const ips = svc.spec?.clusterIPs ?? (svc.spec?.clusterIP ? [svc.spec.clusterIP] : []);
          out.push(...ips.filter((ip) => isIP(ip) !== 0).map((ip) => ({ ip })));
        }
      } catch (err) {
        this.#observer?.apiError?.('get publish Service', statusOf(err));
        this.#logger.warn(
          { err: (err as Error).message, publishService },
          'could not read the publish Service',
        );
        throw err;
      }
    }
    for (const a of publishAddress) out.push(isIP(a) !== 0 ? { ip: a } : { hostname: a });
    return out;
  }

  /** Sets status.loadBalancer.ingress on every Ingress whose value differs. */
  async syncIngresses(ingresses: readonly Statused[], addresses: LoadBalancerIngress[]): Promise<void> {
    for (const ingress of ingresses) {
      if (sameAddresses(ingress.status?.loadBalancer?.ingress, addresses)) continue;
      const { namespace, name } = ingress.metadata ?? {};
      const updated = { ...ingress, status: { ...ingress.status, loadBalancer: { ingress: addresses } } };
      await this.#put(
        `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses/${name}/status`,
        updated,
        'Ingress',
      );
    }
  }

  /** Sets observedGeneration and conditions on every StickyRoute whose status differs from the build's. */
  async syncStickyRoutes(
    statuses: readonly ObjectStatus[],
    lookup: (namespace: string, name: string) => Statused | undefined,
  ): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const s of statuses) {
      if (s.kind !== 'StickyRoute') continue;
      const current = lookup(s.namespace, s.name);
      if (!current) continue;
      const generation = current.metadata?.generation ?? s.generation;
      const old = current.status?.conditions ?? [];
      const conditions: Condition[] = withProgrammed(s).map((c) => {
        const prev = old.find((o) => o.type === c.type);
        const lastTransitionTime = prev && prev.status === c.status ? prev.lastTransitionTime : now;
        return {
          ...c,
          ...(generation !== undefined ? { observedGeneration: generation } : {}),
          lastTransitionTime,
        };
      });
      const strip = (list: Condition[]) =>
        JSON.stringify(list.map(({ lastTransitionTime: _t, ...rest }) => rest));
      if (current.status?.observedGeneration === generation && strip(old) === strip(conditions)) continue;
      const { namespace, name } = s;
      const updated = {
        ...current,
        status: { ...current.status, observedGeneration: generation, conditions },
      };
      await this.#put(
        `/apis/sticky-ingress.dev/v1alpha1/namespaces/${namespace}/stickyroutes/${name}/status`,
        updated,
        'StickyRoute',
      );
    }
  }

  /**
   * Writes Gateway API status (gateway-status.ts) for every object of ours whose stored status differs:
   * GatewayClass and Gateway conditions, listeners and addresses, HTTPRoute parents of `controllerName`.
   * `routes`: every stored HTTPRoute, so one that no longer names a Gateway of ours loses our entries.
   */
  async syncGatewayApi(
    statuses: readonly GatewayApiStatus[],
    lookup: (kind: GatewayApiStatus['kind'], namespace: string, name: string) => GatewayStored | undefined,
    routes: readonly GatewayStored[],
    addresses: readonly LoadBalancerIngress[] | undefined,
    controllerName: string,
  ): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const seen = new Set<string>();
    for (const s of statuses) {
      const current = lookup(s.kind, s.namespace, s.name);
      if (!current) continue;
      if (s.kind === 'HTTPRoute') seen.add(`${s.namespace}/${s.name}`);
      const next = desiredStatus(s, current.status, now, addresses, controllerName);
      if (sameStatus(current.status ?? {}, next)) continue;
      await this.#putGateway(s.kind, current, next);
    }
    for (const route of routes) {
      const { namespace = '', name = '' } = route.metadata ?? {};
      const parents = route.status?.parents;
      if (seen.has(`${namespace}/${name}`) || !parents?.some((p) => p.controllerName === controllerName))
        continue;
      const next = { ...route.status, parents: routeParents([], parents, now, controllerName) };
      await this.#putGateway('HTTPRoute', route, next);
    }
  }

  async #putGateway(kind: GatewayApiStatus['kind'], current: GatewayStored, status: StoredGatewayStatus) {
    const { namespace, name } = current.metadata ?? {};
    const plural = { GatewayClass: 'gatewayclasses', Gateway: 'gateways', HTTPRoute: 'httproutes' }[kind];
    const ns = kind === 'GatewayClass' ? '' : `/namespaces/${namespace}`;
    // List items may lack apiVersion and kind; a PUT body must name them.
    const body = { ...current, apiVersion: GATEWAY_V1, kind, status };
    await this.#put(`/apis/${GATEWAY_V1}${ns}/${plural}/${name}/status`, body, kind);
  }

  async #put(path: string, body: unknown, kind: string): Promise<void> {
    try {
      await this.#rest.request('PUT', path, body);
    } catch (err) {
      const status = statusOf(err);
      if (status === 409 || status === 404) return; // a newer object (or none) is on its way via the informer
      this.#observer?.apiError?.(`update ${kind} status`, status);
      this.#logger.warn({ err: (err as Error).message }, `could not update ${kind} status`);
    }
  }
}

/**
 * The build's Accepted and ResolvedRefs plus Programmed, which only the controller knows: the snapshot that
 * carries an accepted object is live once the build that produced it was published.
 */
function withProgrammed(s: ObjectStatus): BuildCondition[] {
  const programmed: BuildCondition = s.accepted
    ? { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'Served by the dataplane' }
    : {
        type: 'Programmed',
        status: 'False',
        reason: 'Invalid',
        message: 'Not accepted; nothing of it is served',
      };
  return [...s.conditions, programmed];
}
