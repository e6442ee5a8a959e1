import type { Snapshot } from '../../snapshot/types.ts';
import { type GatewayApiStatus, processGatewayApi } from '../gateway/index.ts';
import { type BuildOptions, type ClusterView, type Diagnostic, emptyView } from '../view.ts';
import { assemble } from './assemble.ts';
import { BuildCache } from './cache.ts';
import { defaultCertificate } from './certificates.ts';
import { BuildContext, sortDiagnostics } from './context.ts';
import { type LastBuild, patchEndpoints } from './endpoint-patch.ts';
import { processIngresses } from './ingress.ts';
import { processIngressClasses } from './ingress-class.ts';
import { errorMessage } from './meta.ts';
import { type ObjectStatus, statusesOf } from './status.ts';
import { processStickyRoutes } from './stickyroute.ts';

export { BuildCache } from './cache.ts';
export type { ObjectCondition, ObjectStatus } from './status.ts';

/** What one build produced: the snapshot body to stamp, what went wrong, and a status per object of ours. */
export interface BuildResult {
  body: Omit<Snapshot, 'version' | 'hash'>;
  /** Sorted by object, field, reason. */
  diagnostics: Diagnostic[];
  /** One per Ingress of our class and per StickyRoute, sorted by kind/namespace/name. */
  statuses: ObjectStatus[];
  /** Gateway API objects of ours (GatewayClass, Gateway, HTTPRoute); absent when there are none. */
  gatewayApi?: GatewayApiStatus[];
}

/**
 * Turns the objects of one moment into a snapshot body. Pure and deterministic (no I/O, clock or logging;
 * same objects in any order => identical result) and never throws: a bad object becomes diagnostics.
 * `cache` (kept by the caller across builds) makes a build after a small change cost about that change;
 * the result is the same with or without it.
 */
export function build(
  view: ClusterView,
  options: BuildOptions,
  cache: BuildCache = new BuildCache(),
): BuildResult {
  try {
    const patched = patchEndpoints<BuildResult>(cache, view, options);
    if (patched !== undefined) {
      cache.last = { ...(cache.last as LastBuild<BuildResult>), view, options, result: patched };
      return patched;
    }
    const ctx = new BuildContext(cache.index(view ?? emptyView()), options, cache);
    // Order matters: classes decide which Ingresses are ours; certificates are loaded as TLS sections name them.
    processIngressClasses(ctx, view);
    const fallbackCert = defaultCertificate(ctx);
    processIngresses(ctx, view);
    processStickyRoutes(ctx, view);
    const gatewayApi = processGatewayApi(ctx, view ?? emptyView());
    const body = assemble(ctx, fallbackCert);
    cache.hosts = new Map(body.hosts.map((h) => [h.hostname, h]));
    const diagnostics = view.rejected?.length
      ? sortDiagnostics([...ctx.diagnostics(), ...view.rejected])
      : ctx.diagnostics();
    const result: BuildResult = { body, diagnostics, statuses: statusesOf(ctx) };
    if (gatewayApi.length > 0) result.gatewayApi = gatewayApi;
    cache.last =
      view === undefined || view === null ? undefined : { view, options, result, readiness: ctx.readiness };
    return result;
  } catch (err) {
    cache.last = undefined;
    // Only a bug gets here (each object is already guarded): serve nothing new rather than crash the caller.
    const diagnostic: Diagnostic = {
      severity: 'Error',
      object: { kind: 'Build', namespace: '', name: '' },
      reason: 'InternalError',
      message: `build failed: ${errorMessage(err)}`,
    };
    return { body: { hosts: [], backends: [], certificates: [] }, diagnostics: [diagnostic], statuses: [] };
  }
}
