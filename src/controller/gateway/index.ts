import type { BuildContext } from '../build/context.ts';
import type { ClusterView } from '../view.ts';
import { processHttpRoutes } from './httproute.ts';
import { DEFAULT_CONTROLLER_NAME, processGateways } from './listeners.ts';
import type { GatewayApiStatus } from './status.ts';

export { DEFAULT_CONTROLLER_NAME } from './listeners.ts';
export type { GatewayApiStatus, GatewayCondition, ListenerStatus, RouteParentStatus } from './status.ts';

/**
 * Processor: Gateway API (GatewayClass, Gateway, HTTPRoute, ReferenceGrant) into the same candidates as
 * Ingress and StickyRoute; returns the status of every Gateway API object of ours, sorted by kind/ns/name.
 */
export function processGatewayApi(ctx: BuildContext, view: ClusterView): GatewayApiStatus[] {
  if (!view.gateways?.length && !view.httpRoutes?.length && !view.gatewayClasses?.length) return [];
  const controller = ctx.options.gatewayControllerName ?? DEFAULT_CONTROLLER_NAME;
  const table = processGateways(ctx, view);
  const routes = processHttpRoutes(ctx, view, table, controller);
  const gateways: GatewayApiStatus[] = [...table.gateways.values()].map(({ ref, listeners, conditions }) => {
    const s: GatewayApiStatus = { kind: 'Gateway', namespace: ref.namespace, name: ref.name, conditions };
    if (ref.generation !== undefined) s.generation = ref.generation;
    s.listeners = listeners.map((l) => ({
      name: l.name,
      attachedRoutes: l.attachedRoutes,
      supportedKinds: l.supportedKinds,
      conditions: l.conditions,
    }));
    return s;
  });
  const key = (s: GatewayApiStatus) => `${s.kind}/${s.namespace}/${s.name}`;
  return [...table.classStatuses, ...gateways, ...routes].sort((a, b) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0,
  );
}
