import { isIP } from 'node:net';
import type { GatewayApiStatus, GatewayCondition, RouteParentStatus } from '../gateway/status.ts';
import type { LoadBalancerIngress } from './status-writer.ts';

/**
 * Gateway API status as written to the API server: the build's conditions (GatewayClass, Gateway and its
 * listeners, HTTPRoute parents) with `lastTransitionTime` added, kept from the stored object while a
 * condition's status does not change (metav1.Condition), plus Gateway `status.addresses`. Pure: the writer
 * compares the result with the stored status and writes only when they differ (no write, no watch event).
 */

/** A condition as the API stores it. */
export interface StoredCondition extends GatewayCondition {
  lastTransitionTime: string;
}

/** The stored object's status, as far as these functions read it. */
export interface StoredGatewayStatus {
  conditions?: StoredCondition[];
  listeners?: { name: string; conditions?: StoredCondition[] }[];
  parents?: (Omit<RouteParentStatus, 'conditions'> & { conditions?: StoredCondition[] })[];
  addresses?: { type?: string; value: string }[];
  [k: string]: unknown;
}

/** Conditions with their transition time: the old one's when type and status are unchanged, else `now`. */
export function stamp(
  conditions: readonly GatewayCondition[],
  old: readonly StoredCondition[] | undefined,
  now: string,
): StoredCondition[] {
  return conditions.map((c) => {
    const prev = old?.find((o) => o.type === c.type);
    return { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now };
  });
}

/** Gateway `status.addresses` from the addresses the Ingress status publishes (--publish-service/-address). */
export function gatewayAddresses(
  addresses: readonly LoadBalancerIngress[],
): { type: string; value: string }[] {
  return addresses.map((a) =>
    a.ip !== undefined && isIP(a.ip) !== 0
      ? { type: 'IPAddress', value: a.ip }
      : { type: 'Hostname', value: a.hostname ?? a.ip ?? '' },
  );
}

/**
 * The status to write for one object of ours. `addresses` undefined: none configured (or not readable now),
 * so the stored `status.addresses` is left as it is. HTTPRoute parents of other controllers are kept as
 * they are, in their place; ours are replaced by the build's (a parent no longer ours disappears).
 */
export function desiredStatus(
  s: GatewayApiStatus,
  stored: StoredGatewayStatus | undefined,
  now: string,
  addresses: readonly LoadBalancerIngress[] | undefined,
  controllerName: string,
): StoredGatewayStatus {
  const out: StoredGatewayStatus = { ...stored };
  if (s.kind === 'HTTPRoute') {
    out.parents = routeParents(s.parents ?? [], stored?.parents, now, controllerName);
    return out;
  }
  out.conditions = stamp(s.conditions ?? [], stored?.conditions, now);
  if (s.kind === 'Gateway') {
    out.listeners = (s.listeners ?? []).map((l) => ({
      ...l,
      conditions: stamp(l.conditions, stored?.listeners?.find((o) => o.name === l.name)?.conditions, now),
    }));
    if (addresses !== undefined) out.addresses = gatewayAddresses(addresses);
  }
  return out;
}

/**
 * HTTPRoute `status.parents`: others' entries untouched and in place, ours from the build (kept in place when
 * the same parentRef was ours before, appended otherwise; an entry of ours the build no longer has is dropped).
 */
export function routeParents(
  parents: readonly RouteParentStatus[],
  stored: StoredGatewayStatus['parents'],
  now: string,
  controllerName: string,
): NonNullable<StoredGatewayStatus['parents']> {
  const stamped = parents.map((p) => {
    const prev = stored?.find(
      (o) => o.controllerName === p.controllerName && sameRef(o.parentRef, p.parentRef),
    );
    return { ...p, conditions: stamp(p.conditions, prev?.conditions, now) };
  });
  const placed = new Set<number>();
  const out: NonNullable<StoredGatewayStatus['parents']> = [];
  for (const o of stored ?? []) {
    if (o.controllerName !== controllerName) {
      out.push(o);
      continue;
    }
    const i = stamped.findIndex((p, j) => !placed.has(j) && sameRef(o.parentRef, p.parentRef));
    if (i === -1) continue;
    placed.add(i);
    out.push(stamped[i] as (typeof stamped)[number]);
  }
  stamped.forEach((p, j) => {
    if (!placed.has(j)) out.push(p);
  });
  return out;
}

// The API server defaults group and kind on write; namespace is always written by us.
function sameRef(a: RouteParentStatus['parentRef'], b: RouteParentStatus['parentRef']): boolean {
  return (
    (a.group ?? 'gateway.networking.k8s.io') === b.group &&
    (a.kind ?? 'Gateway') === b.kind &&
    a.namespace === b.namespace &&
    a.name === b.name &&
    a.sectionName === b.sectionName &&
    a.port === b.port
  );
}

/** True when writing `next` would change nothing the API stores (key order aside). */
export function sameStatus(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : 1)))
      : x,
  );
}
