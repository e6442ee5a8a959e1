import type { BackendRequest, BuildContext } from '../build/context.ts';
import { endpointScreen, resolveEndpoints } from '../build/endpoints.ts';
import { asArray, isRecord, type ObjectRef, str } from '../build/meta.ts';
import type { BackendPolicy } from '../build/policy.ts';
import type { ClusterView } from '../view.ts';
import { GATEWAY_GROUP, referenceAllowed } from './reference-grant.ts';

/** One backendRef of a rule: resolved to a backend request, or the reason it did not resolve (a 500 share). */
export interface ResolvedRef {
  weight: number;
  backend?: BackendRequest;
  problem?: { reason: 'InvalidKind' | 'RefNotPermitted' | 'BackendNotFound'; message: string };
}

/**
 * Resolves an HTTPRoute rule's backendRefs (core Services only; cross-namespace only with a ReferenceGrant).
 * `policy` is shared by every backend of the rule (session persistence is per rule).
 */
export function resolveBackendRefs(
  ctx: BuildContext,
  view: ClusterView,
  route: ObjectRef,
  refs: unknown,
  policy: BackendPolicy,
): ResolvedRef[] {
  return asArray<unknown>(refs).map((raw) => {
    const r = isRecord(raw) ? raw : {};
    const weight = typeof r.weight === 'number' && r.weight >= 0 ? Math.min(r.weight, 1_000_000) : 1;
    const name = str(r.name);
    if ((r.group ?? '') !== '' || (r.kind ?? 'Service') !== 'Service' || !name) {
      const message = `backendRef ${String(r.group ?? '')}/${String(r.kind)} ${String(r.name)} is not a core Service`;
      return { weight, problem: { reason: 'InvalidKind', message } };
    }
    const namespace = str(r.namespace) ?? route.namespace;
    const from = { group: GATEWAY_GROUP, kind: 'HTTPRoute', namespace: route.namespace };
    if (!referenceAllowed(view.referenceGrants, from, { group: '', kind: 'Service', namespace, name })) {
      const message = `no ReferenceGrant in ${namespace} allows HTTPRoute ${route.namespace}/${route.name} to use Service ${name}`;
      return { weight, problem: { reason: 'RefNotPermitted', message } };
    }
    if (typeof r.port !== 'number') {
      return {
        weight,
        problem: { reason: 'BackendNotFound', message: `backendRef ${namespace}/${name} has no port` },
      };
    }
    const result = resolveEndpoints(ctx.index, namespace, name, { number: r.port }, endpointScreen(ctx));
    const backend: BackendRequest = {
      service: { namespace, name, port: String(r.port) },
      endpoints: result.endpoints,
      policy,
    };
    if (result.problem)
      return { weight, problem: { reason: 'BackendNotFound', message: result.problem.message } };
    return { weight, backend };
  });
}
