/**
 * Gateway API status as the build computes it (metav1.Condition minus lastTransitionTime, which the status
 * writer adds). Kept apart from Ingress/StickyRoute statuses: the shapes differ (listeners, parents).
 */

/** One condition; `observedGeneration` is the object's generation the build read. */
export interface GatewayCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** One Gateway listener's status (Gateway `status.listeners[]`). */
export interface ListenerStatus {
  name: string;
  attachedRoutes: number;
  supportedKinds: { group: string; kind: string }[];
  conditions: GatewayCondition[];
}

/** One parent's status of an HTTPRoute (`status.parents[]`), written only for Gateways of our class. */
export interface RouteParentStatus {
  parentRef: {
    group: string;
    kind: string;
    namespace: string;
    name: string;
    sectionName?: string;
    port?: number;
  };
  controllerName: string;
  conditions: GatewayCondition[];
}

/** What the build made of one Gateway API object. GatewayClass has namespace ''. */
export interface GatewayApiStatus {
  kind: 'GatewayClass' | 'Gateway' | 'HTTPRoute';
  namespace: string;
  name: string;
  generation?: number;
  /** GatewayClass and Gateway: their own conditions. */
  conditions?: GatewayCondition[];
  listeners?: ListenerStatus[];
  parents?: RouteParentStatus[];
}

/** A condition stamped with the generation it describes. */
export function cond(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  generation: number | undefined,
): GatewayCondition {
  const c: GatewayCondition = { type, status: ok ? 'True' : 'False', reason, message };
  if (generation !== undefined) c.observedGeneration = generation;
  return c;
}
