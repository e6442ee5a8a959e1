import type { BuildContext } from './context.ts';
import { asArray, isRecord, type ObjectRef } from './meta.ts';

/** The `service` of an Ingress backend for `default-backend: name`: the Service's first port, as ingress-nginx. */
export type DefaultBackendRef = { service: { name: string; port: { number: number } } };

/**
 * The backend the `default-backend` annotation names, in the Ingress's own namespace, or undefined (with a
 * Warning naming the Service) when it does not exist or has no port: the Ingress is then served without it.
 */
export function defaultBackendRef(
  ctx: BuildContext,
  ref: ObjectRef,
  name: string,
  field: string,
): DefaultBackendRef | undefined {
  const service = ctx.index.service(ref.namespace, name);
  const spec = isRecord(service?.spec) ? service.spec : {};
  const first = asArray<unknown>(spec.ports)[0];
  const port = isRecord(first) && typeof first.port === 'number' ? first.port : undefined;
  if (port === undefined) {
    const what = service === undefined ? 'not found' : 'has no port';
    const message = `default-backend Service ${ref.namespace}/${name} ${what}: unmatched paths get 404 and paths without endpoints 503`;
    ctx.report(ref, { severity: 'Warning', reason: 'DefaultBackendNotFound', message, field }, 'ref');
    return undefined;
  }
  return { service: { name, port: { number: port } } };
}
