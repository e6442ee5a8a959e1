import { asArray, isRecord, metadataOf, str } from '../build/meta.ts';

/** The Gateway API group; `''` is the core group (Service, Secret). */
export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** One side of a cross-namespace reference, as ReferenceGrant names it. */
export interface RefEnd {
  group: string;
  kind: string;
  namespace: string;
  name?: string;
}

/**
 * True when a reference from `from` to `to` is allowed: same namespace always, another namespace only when a
 * ReferenceGrant in the target's namespace lists `from` (group, kind, namespace) and `to` (group, kind, and
 * the name when the grant names one). Gateway API ReferenceGrant (GEP-709).
 */
export function referenceAllowed(grants: readonly unknown[] | undefined, from: RefEnd, to: RefEnd): boolean {
  if (from.namespace === to.namespace) return true;
  for (const grant of asArray<unknown>(grants)) {
    if ((str(metadataOf(grant).namespace) ?? 'default') !== to.namespace) continue;
    const spec = isRecord(grant) && isRecord(grant.spec) ? grant.spec : {};
    const fromOk = asArray<unknown>(spec.from).some(
      (f) =>
        isRecord(f) &&
        (f.group ?? '') === from.group &&
        f.kind === from.kind &&
        f.namespace === from.namespace,
    );
    if (!fromOk) continue;
    const toOk = asArray<unknown>(spec.to).some(
      (t) =>
        isRecord(t) &&
        (t.group ?? '') === to.group &&
        t.kind === to.kind &&
        (str(t.name) === undefined || t.name === to.name),
    );
    if (toOk) return true;
  }
  return false;
}
