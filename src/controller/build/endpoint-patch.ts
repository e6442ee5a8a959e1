import type { Backend } from '../../snapshot/types.ts';
import type { BuildOptions, ClusterView, Diagnostic } from '../view.ts';
import type { EndpointParts } from './endpoint-parts.ts';
import { type PortRef, resolveEndpoints } from './endpoints.ts';
import { asArray, isRecord, metadataOf, str } from './meta.ts';
import { listEdits, type ViewIndex } from './view-index.ts';

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
  /**
   * `namespace/name` of the Services whose readiness shaped a route in that build (BuildContext.readiness:
   * default-backend substitutes a path's Service when it has no ready endpoint); their slices need a full build.
   */
  readiness: ReadonlySet<string>;
}

/** What the fast path reads of the BuildCache: the last build, the view's index, the per-slice parts. */
export interface PatchCache {
  readonly last: LastBuild<Patchable> | undefined;
  index(view: ClusterView): ViewIndex;
  readonly endpoints: EndpointParts;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * The endpoint-only fast path (Contour's endpointslicetranslator idea): when `view` differs from the last one
 * only in its EndpointSlices, the new body is the last one with the backends of the touched Services
 * re-resolved; hosts, certificates, diagnostics and statuses are the very same objects. Returns undefined
 * whenever the result could differ from a full build in any other way (another list changed, an address is
 * refused, a port name looks like a number, a touched Service's readiness shaped a route): the caller then
 * builds in full. Only the changed slices are read again (EndpointParts).
 */
export function patchEndpoints<R extends Patchable>(
  cache: PatchCache,
  view: ClusterView,
  options: BuildOptions,
): R | undefined {
  const last = cache.last as LastBuild<R> | undefined;
  if (last === undefined || !view || !onlySlicesChanged(last, view, options)) return undefined;
  const touched = touchedServices(last.view.endpointSlices, view.endpointSlices);
  if (touched === undefined) return undefined;
  // default-backend substitutes a path's Service when it has no ready endpoint: that route depends on readiness.
  for (const service of touched.services) if (last.readiness.has(service)) return undefined;
  // A diagnostic on a slice that changed (a refused address) may go away: only the full build knows.
  if (
    last.result.diagnostics.some(
      (d) =>
        d.object.kind === 'EndpointSlice' && touched.slices.has(`${d.object.namespace}/${d.object.name}`),
    )
  )
    return undefined;
  if (touched.services.size === 0) return last.result;
  const idx = cache.index(view);
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
      cache: cache.endpoints,
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
  // The store replaces, inserts or drops one slice at its sorted position: no Sets of 10,000 objects.
  const edits = listEdits(before, after);
  if (edits !== undefined) {
    for (const { was, now } of edits) {
      if (was !== undefined && !addService(touched, was)) return undefined;
      if (now !== undefined && !addService(touched, now)) return undefined;
    }
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
