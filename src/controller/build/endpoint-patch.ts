import type { Backend } from '../../snapshot/types.ts';
import { NGINX_PREFIX, OWN_PREFIX } from '../annotations/descriptor.ts';
import type { BuildOptions, ClusterView, Diagnostic } from '../view.ts';
import { type PortRef, resolveEndpoints } from './endpoints.ts';
import { asArray, isRecord, metadataOf, str } from './meta.ts';
import { replacedPositions, type ViewIndex } from './view-index.ts';

/** The parts of a build result the fast path reads. */
export interface Patchable {
  body: { backends: readonly Backend[] };
  diagnostics: readonly Diagnostic[];
}

/** What the fast path needs of the last full or patched build. */
export interface LastBuild<R extends Patchable> {
  view: ClusterView;
  options: BuildOptions;
  result: R;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * The endpoint-only fast path (Contour's endpointslicetranslator idea): when `view` differs from the last one
 * only in its EndpointSlices, the new body is the last one with the backends of the touched Services
 * re-resolved; hosts, certificates, diagnostics and statuses are the very same objects. Returns undefined
 * whenever the result could differ from a full build in any other way (another list changed, an address is
 * refused, a port name looks like a number): the caller then builds in full. `index` indexes `view`.
 */
export function patchEndpoints<R extends Patchable>(
  last: LastBuild<R> | undefined,
  view: ClusterView,
  options: BuildOptions,
  index: () => ViewIndex,
): R | undefined {
  if (last === undefined || !view || !onlySlicesChanged(last, view, options)) return undefined;
  // default-backend substitutes a path's Service when it has no ready endpoint: routes depend on readiness.
  if (readinessShapesRoutes(view.ingresses)) return undefined;
  const touched = touchedServices(last.view.endpointSlices, view.endpointSlices);
  if (touched === undefined) return undefined;
  // A diagnostic on a slice that changed (a refused address) may go away: only the full build knows.
  if (
    last.result.diagnostics.some(
      (d) =>
        d.object.kind === 'EndpointSlice' && touched.slices.has(`${d.object.namespace}/${d.object.name}`),
    )
  )
    return undefined;
  if (touched.services.size === 0) return last.result;
  const idx = index();
  const old = last.result.body.backends;
  const byService = backendsByService(old);
  let backends: Backend[] | undefined;
  for (const i of [...touched.services].flatMap((key) => byService.get(key) ?? []).sort((a, b) => a - b)) {
    const b = old[i] as Backend;
    const { namespace, name, port } = b.service;
    if (port === '') continue;
    const ref = portRef(idx, namespace, name, port);
    if (ref === undefined) return undefined;
    let refused = false;
    const screen = {
      allowLoopback: options.allowLoopbackEndpoints === true,
      refuse: () => {
        refused = true;
      },
    };
    const { endpoints } = resolveEndpoints(idx, namespace, name, ref, screen);
    // A refused address is a diagnostic on the slice: only the full build reports it.
    if (refused) return undefined;
    backends ??= old.slice();
    backends[i] = { ...b, endpoints };
  }
  if (backends === undefined) return last.result;
  // Same ids and Services at the same positions: the next patch reuses the index.
  servicesIndex.set(backends, byService);
  return { ...last.result, body: { ...last.result.body, backends } };
}

// Positions of the backends of each `namespace/service`, per (frozen) backend list.
const servicesIndex = new WeakMap<readonly Backend[], Map<string, number[]>>();

function backendsByService(backends: readonly Backend[]): Map<string, number[]> {
  let index = servicesIndex.get(backends);
  if (index !== undefined) return index;
  index = new Map();
  for (let i = 0; i < backends.length; i++) {
    const { namespace, name } = (backends[i] as Backend).service;
    const key = `${namespace}/${name}`;
    const list = index.get(key);
    if (list === undefined) index.set(key, [i]);
    else list.push(i);
  }
  servicesIndex.set(backends, index);
  return index;
}

function onlySlicesChanged(last: LastBuild<Patchable>, view: ClusterView, options: BuildOptions): boolean {
  const v = last.view;
  return (
    v.ingresses === view.ingresses &&
    v.ingressClasses === view.ingressClasses &&
    v.services === view.services &&
    v.secrets === view.secrets &&
    v.stickyRoutes === view.stickyRoutes &&
    v.gatewayClasses === view.gatewayClasses &&
    v.gateways === view.gateways &&
    v.httpRoutes === view.httpRoutes &&
    v.referenceGrants === view.referenceGrants &&
    v.namespaces === view.namespaces &&
    // The store keeps the rejected list's identity until a decode result changes (store.ts).
    (v.rejected === view.rejected ||
      ((v.rejected ?? []).length === 0 && (view.rejected ?? []).length === 0)) &&
    last.options.ingressClass === options.ingressClass &&
    last.options.defaultCertificate === options.defaultCertificate &&
    last.options.allowLoopbackEndpoints === options.allowLoopbackEndpoints
  );
}

/**
 * `namespace/service` of every slice added, removed or replaced between the two lists (by identity: the store
 * replaces a changed object). Undefined when a slice is not one a full build would index the same way.
 */
function touchedServices(before: readonly unknown[], after: readonly unknown[]): Touched | undefined {
  const touched: Touched = { services: new Set(), slices: new Set() };
  if (before === after) return touched;
  // The store replaces a changed slice in place: compare by position first (no Sets of 10,000 objects).
  const at = replacedPositions(before, after);
  if (at !== undefined) {
    for (const i of at)
      if (!addService(touched, before[i]) || !addService(touched, after[i])) return undefined;
    return touched;
  }
  const was = new Set<unknown>(before);
  const now = new Set<unknown>(after);
  for (const s of after) if (!was.has(s) && !addService(touched, s)) return undefined;
  for (const s of before) if (!now.has(s) && !addService(touched, s)) return undefined;
  return touched;
}

interface Touched {
  /** `namespace/service` of the slices that changed. */
  services: Set<string>;
  /** `namespace/name` of the slices that changed. */
  slices: Set<string>;
}

function addService(touched: Touched, slice: unknown): boolean {
  if (!isRecord(slice)) return false;
  const m = metadataOf(slice);
  const namespace = str(m.namespace) ?? 'default';
  touched.slices.add(`${namespace}/${str(m.name) ?? ''}`);
  const labels = isRecord(m.labels) ? m.labels : {};
  const service = str(labels[SERVICE_NAME_LABEL]);
  // A slice of no Service feeds no backend; one of a Service does, whatever its other fields say.
  if (service) touched.services.add(`${namespace}/${service}`);
  return true;
}

/**
 * The port as the route named it. The backend keeps only its text: digits were a number, unless the Service
 * also has a port with that name (garbage input), where only the full build knows which one was meant.
 */
function portRef(index: ViewIndex, namespace: string, name: string, port: string): PortRef | undefined {
  if (!/^\d+$/.test(port)) return { name: port };
  if (String(Number(port)) !== port) return undefined;
  const spec = index.service(namespace, name)?.spec;
  const ports = isRecord(spec) ? asArray<unknown>(spec.ports) : [];
  if (ports.some((p) => isRecord(p) && p.name === port)) return undefined;
  return { number: Number(port) };
}

// Per (frozen) Ingress list: whether any Ingress carries `default-backend`, whose substitution of a path with
// no ready endpoint is decided at build time (build/ingress.ts), so an endpoint change can change routes.
const readinessIndex = new WeakMap<readonly unknown[], boolean>();

function readinessShapesRoutes(ingresses: readonly unknown[]): boolean {
  let known = readinessIndex.get(ingresses);
  if (known === undefined) {
    known = ingresses.some((ing) => {
      const a = isRecord(ing) ? metadataOf(ing).annotations : undefined;
      return isRecord(a) && (`${OWN_PREFIX}default-backend` in a || `${NGINX_PREFIX}default-backend` in a);
    });
    readinessIndex.set(ingresses, known);
  }
  return known;
}
