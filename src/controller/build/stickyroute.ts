import { durationMs } from '../../shared/duration.ts';
import type { AffinityPolicy, Draft, Route } from '../../snapshot/types.ts';
import { parseHashBy } from '../annotations/hash-by.ts';
import { type StickyRouteRoute, type StickyRouteSpec, stickyRouteSpecSchema } from '../stickyroute/schema.ts';
import type { ClusterView } from '../view.ts';
import { loadCertificate } from './certificates.ts';
import type { BuildContext } from './context.ts';
import { endpointScreen, resolveEndpoints } from './endpoints.ts';
import { memoized } from './memo.ts';
import { errorMessage, isRecord, type ObjectRef, type Rank, sourceRef } from './meta.ts';
import { type BackendPolicy, defaultCookiePath, PASSIVE_HEALTH, REDIRECT_CODE } from './policy.ts';

/** Processor 4: every StickyRoute (they have no class: all are ours) becomes route candidates and TLS claims. */
export function processStickyRoutes(ctx: BuildContext, view: ClusterView): void {
  for (const { obj, ref, rank } of ctx.cache.sorted('StickyRoute', view.stickyRoutes)) {
    memoized(ctx, obj, () => {
      try {
        processStickyRoute(ctx, obj, ref, rank);
      } catch (err) {
        ctx.report(ref, { severity: 'Error', reason: 'InternalError', message: errorMessage(err) }, 'reject');
      }
    });
  }
}

function processStickyRoute(ctx: BuildContext, obj: unknown, ref: ObjectRef, rank: Rank): void {
  if (!ref.name) {
    ctx.report(ref, {
      severity: 'Error',
      reason: 'InvalidObject',
      message: 'StickyRoute without metadata.name skipped',
    });
    return;
  }
  ctx.own(ref);
  const parsed = stickyRouteSpecSchema.safeParse(isRecord(obj) ? obj.spec : undefined);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = [
        'spec',
        ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)),
      ].join('');
      const message = `${issue.message}; StickyRoute skipped`;
      ctx.report(
        ref,
        { severity: 'Error', reason: 'InvalidSpec', message, field: field.replace(/\.\[/g, '[') },
        'reject',
      );
    }
    return;
  }
  const spec = parsed.data;
  let certificate: string | undefined;
  if (spec.tls) {
    const result = loadCertificate(ctx, ref.namespace, spec.tls.secretName);
    if ('id' in result) certificate = result.id;
    else {
      const message = `${result.problem.message}; the hosts are served with the default certificate`;
      ctx.report(
        ref,
        { severity: 'Warning', reason: result.problem.reason, message, field: 'spec.tls.secretName' },
        'ref',
      );
    }
  }
  const backends = spec.routes.map((r, i) => backendOf(ctx, ref, r, i));
  spec.hosts.forEach((host, h) => {
    if (spec.tls) {
      ctx.addTls({ host, ...(certificate ? { certificate } : {}), owner: ref, rank, field: 'spec.tls' });
    }
    spec.routes.forEach((r, i) => {
      ctx.addRoute({
        host,
        route: routeOf(spec, r, ref, `${h}/${i}`),
        backend: backends[i]!,
        owner: ref,
        rank,
        fallback: false,
        field: `spec.routes[${i}]`,
      });
    });
  });
}

function routeOf(
  spec: StickyRouteSpec,
  r: StickyRouteRoute,
  ref: ObjectRef,
  suffix: string,
): Omit<Route, 'backend'> {
  const route: Draft<Omit<Route, 'backend'>> = {
    id: `StickyRoute/${ref.namespace}/${ref.name}/${suffix}`,
    ...(spec.sslPassthrough ? { passthrough: true as const } : {}),
    source: sourceRef(ref),
    path: r.match.path,
    pathType: r.match.pathType,
    redirect: {
      sslRedirect: spec.redirect.sslRedirect,
      forceSslRedirect: spec.redirect.forceSslRedirect,
      code: REDIRECT_CODE,
    },
  };
  if (spec.hsts) route.hsts = { ...spec.hsts };
  if (r.access && (r.access.allow.length > 0 || r.access.deny.length > 0)) {
    route.access = { allow: r.access.allow.map((c) => c.trim()), deny: r.access.deny.map((c) => c.trim()) };
  }
  return route;
}

function backendOf(ctx: BuildContext, ref: ObjectRef, r: StickyRouteRoute, i: number) {
  const { name, port } = r.backend.service;
  const result = resolveEndpoints(
    ctx.index,
    ref.namespace,
    name,
    typeof port === 'number' ? { number: port } : { name: port },
    endpointScreen(ctx),
  );
  if (result.problem) {
    const message = `${result.problem.message}; requests get 503`;
    const field = `spec.routes[${i}].backend.service`;
    ctx.report(ref, { severity: 'Error', reason: result.problem.reason, message, field }, 'ref');
  }
  return {
    service: { namespace: ref.namespace, name, port: String(port) },
    endpoints: result.endpoints,
    policy: policyOf(r),
  };
}

/** hashBy wins over policy; source-ip is a hash of the client address. The schema checked the template. */
function balanceOf(lb: StickyRouteRoute['loadBalancing']): Pick<BackendPolicy, 'balance' | 'hashBy'> {
  const parsed = lb.hashBy === undefined ? undefined : parseHashBy(lb.hashBy);
  if (parsed !== undefined && 'parts' in parsed) return { balance: 'hash', hashBy: parsed.parts };
  if (lb.policy === 'source-ip') return { balance: 'hash', hashBy: [{ kind: 'remote-addr' }] };
  return { balance: lb.policy };
}

function policyOf(r: StickyRouteRoute): BackendPolicy {
  const t = r.timeouts;
  const policy: Draft<BackendPolicy> = {
    ...balanceOf(r.loadBalancing),
    timeouts: {
      connectMs: durationMs(t.connect),
      readMs: durationMs(t.read),
      tunnelIdleMs: durationMs(t.tunnelIdle),
    },
    retries: r.retries,
    health: { passive: { ...PASSIVE_HEALTH } },
  };
  const hc = r.healthCheck;
  if (hc) {
    policy.health = {
      passive: policy.health.passive,
      active: {
        path: hc.path,
        intervalMs: hc.intervalSeconds * 1000,
        timeoutMs: hc.timeoutSeconds * 1000,
        healthyThreshold: hc.healthyThreshold,
        unhealthyThreshold: hc.unhealthyThreshold,
      },
    };
  }
  if (r.affinity) {
    const { path, ...cookie } = r.affinity.cookie;
    const affinity: AffinityPolicy = {
      cookie: { ...cookie, path: path ?? defaultCookiePath(r.match.path) },
      mode: r.affinity.mode,
      changeOnFailure: r.affinity.changeOnFailure,
      ...(r.affinity.socketio ? { socketio: true } : {}),
    };
    policy.affinity = affinity;
  }
  return policy;
}
