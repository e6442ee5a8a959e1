import type { Draft, PathType, Route } from '../../snapshot/types.ts';
import { type IngressAnnotations, parseIngressAnnotations, pathRegexProblem } from '../annotations/index.ts';
import type { ClusterView } from '../view.ts';
import { claimAliases } from './aliases.ts';
import { loadCertificate } from './certificates.ts';
import type { BuildContext, RouteCandidate } from './context.ts';
import { type DefaultBackendRef, defaultBackendRef } from './default-backend.ts';
import { endpointScreen, type PortRef, resolveEndpoints } from './endpoints.ts';
import { ANY_HOST, normalizeHost, tlsCovers } from './hostname.ts';
import { isOwnIngress } from './ingress-class.ts';
import { memoized } from './memo.ts';
import {
  annotationsOf,
  asArray,
  errorMessage,
  isRecord,
  type ObjectRef,
  type Rank,
  sourceRef,
  str,
} from './meta.ts';
import { ingressPolicy, REDIRECT_CODE } from './policy.ts';
import { upstreamTlsSecret } from './upstream-tls.ts';

const PATH_TYPES: readonly PathType[] = ['Exact', 'Prefix', 'ImplementationSpecific'];

interface IngressItem {
  ref: ObjectRef;
  rank: Rank;
  spec: Record<string, unknown>;
  config: IngressAnnotations;
  /** Certificate id of proxy-ssl-secret, when the Ingress names one. */
  tlsSecret?: string;
  /** `default-backend`, resolved: serves unmatched paths of the Ingress's hosts and endpoint-less paths. */
  fallback?: DefaultBackendRef;
}

/** Processor 3: every Ingress of our class becomes route candidates and TLS claims, oldest first. */
export function processIngresses(ctx: BuildContext, view: ClusterView): void {
  for (const { obj, ref, rank } of ctx.cache.sorted('Ingress', view.ingresses)) {
    const internalError = (err: unknown) =>
      ctx.report(ref, { severity: 'Error', reason: 'InternalError', message: errorMessage(err) }, 'reject');
    try {
      // Outside the memo: whether an Ingress is ours depends on the IngressClasses, not on its lookups.
      if (!isOwnIngress(ctx, obj)) continue;
    } catch (err) {
      internalError(err);
      continue;
    }
    memoized(ctx, obj, () => {
      try {
        processIngress(ctx, obj, ref, rank);
      } catch (err) {
        internalError(err);
      }
    });
  }
}

function processIngress(ctx: BuildContext, obj: unknown, ref: ObjectRef, rank: Rank): void {
  if (!ref.name) {
    ctx.report(ref, {
      severity: 'Error',
      reason: 'InvalidObject',
      message: 'Ingress without metadata.name skipped',
    });
    return;
  }
  ctx.own(ref);
  const spec = isRecord(obj) && isRecord(obj.spec) ? obj.spec : undefined;
  if (!spec) {
    ctx.report(
      ref,
      { severity: 'Error', reason: 'InvalidSpec', field: 'spec', message: 'spec is missing' },
      'reject',
    );
    return;
  }
  const { config, issues } = parseIngressAnnotations(annotationsOf(obj));
  for (const issue of issues) {
    const field = `metadata.annotations[${JSON.stringify(issue.annotation)}]`;
    const d = { severity: issue.severity, reason: issue.reason, message: issue.message, field };
    ctx.report(ref, d, issue.refuses ? 'reject' : 'none');
  }
  // Fail safe: access control we cannot enforce (docs/security.md), or any key we would serve differently
  // (issue 15, item 9), or a regex path we cannot match in linear time: no route, no TLS claim.
  if (issues.some((i) => i.refuses) || (config.regex && !regexPathsValid(ctx, ref, spec))) return;
  const tlsSecret = upstreamTlsSecret(ctx, ref, config);
  if (tlsSecret === false) return;
  const item: IngressItem = { ref, rank, spec, config };
  if (tlsSecret !== null) item.tlsSecret = tlsSecret;
  if (config.defaultBackend !== undefined) {
    const fallback = defaultBackendRef(ctx, ref, config.defaultBackend, DEFAULT_BACKEND_FIELD);
    if (fallback !== undefined) item.fallback = fallback;
  }
  const tlsHosts = processTls(ctx, item);
  asArray<unknown>(spec.rules).forEach((rule, i) => {
    processRule(ctx, item, rule, i, tlsHosts);
  });
  fallbackRoutes(ctx, item);
  claimAliases(ctx, item.ref, item.rank, item.spec, item.config.aliases);
  if (spec.defaultBackend !== undefined) {
    addRoute(
      ctx,
      item,
      ANY_HOST,
      { path: '/', pathType: 'Prefix', backend: spec.defaultBackend },
      'default',
      true,
    );
  }
}

const DEFAULT_BACKEND_FIELD = 'metadata.annotations["nginx.ingress.kubernetes.io/default-backend"]';

// default-backend: a `/` Prefix route per rule host that loses to every rule route (of any Ingress) there,
// so it answers only what no path of the host matches. Never on a host the Ingress does not list.
function fallbackRoutes(ctx: BuildContext, item: IngressItem): void {
  if (item.fallback === undefined || item.config.canary) return;
  const hosts = new Set<string>();
  for (const rule of asArray<unknown>(item.spec.rules)) {
    const host = isRecord(rule) ? normalizeHost(rule.host) : undefined;
    if (host !== undefined) hosts.add(host);
  }
  [...hosts].forEach((host, i) => {
    const p = { path: '/', pathType: 'Prefix', backend: item.fallback };
    addRoute(ctx, item, host, p, `default-backend/${i}`, true, DEFAULT_BACKEND_FIELD);
  });
}

// Every regex path must compile to the linear-time matcher before any route of the Ingress is added.
function regexPathsValid(ctx: BuildContext, ref: ObjectRef, spec: Record<string, unknown>): boolean {
  let valid = true;
  asArray<unknown>(spec.rules).forEach((rule, i) => {
    const http = isRecord(rule) && isRecord(rule.http) ? rule.http : {};
    asArray<unknown>(http.paths).forEach((p, j) => {
      if (!isRecord(p) || p.pathType === 'Exact' || typeof p.path !== 'string') return;
      const problem = pathRegexProblem(p.path);
      if (problem === undefined) return;
      valid = false;
      const message = `regex path ${JSON.stringify(p.path)} is not served: ${problem} (linear-time subset: no backreferences, lookaround or possessive quantifiers); the Ingress is not served`;
      const field = `spec.rules[${i}].http.paths[${j}].path`;
      ctx.report(ref, { severity: 'Error', reason: 'InvalidRegex', message, field }, 'reject');
    });
  });
  return valid;
}

/** TLS claims of every host listed under spec.tls; returns host -> certificate id ('' for the default one). */
function processTls(ctx: BuildContext, item: IngressItem): Map<string, string> {
  const hosts = new Map<string, string>();
  asArray<unknown>(item.spec.tls).forEach((entry, t) => {
    if (!isRecord(entry)) return;
    let certificate = '';
    const secretName = str(entry.secretName);
    if (secretName) {
      const result = loadCertificate(ctx, item.ref.namespace, secretName);
      if ('id' in result) certificate = result.id;
      else {
        const message = `${result.problem.message}; hosts of spec.tls[${t}] are served with the default certificate`;
        const field = `spec.tls[${t}].secretName`;
        ctx.report(item.ref, { severity: 'Warning', reason: result.problem.reason, message, field }, 'ref');
      }
    }
    asArray<unknown>(entry.hosts).forEach((raw, h) => {
      const host = normalizeHost(raw);
      if (!host || host === ANY_HOST) {
        const message = `invalid TLS host ${JSON.stringify(raw)} ignored`;
        ctx.report(item.ref, {
          severity: 'Warning',
          reason: 'InvalidHost',
          message,
          field: `spec.tls[${t}].hosts[${h}]`,
        });
        return;
      }
      if (!hosts.has(host)) hosts.set(host, certificate);
      claim(ctx, item, host, certificate, `spec.tls[${t}]`);
    });
  });
  return hosts;
}

function claim(ctx: BuildContext, item: IngressItem, host: string, certificate: string, field: string): void {
  ctx.addTls({ host, ...(certificate ? { certificate } : {}), owner: item.ref, rank: item.rank, field });
}

function processRule(
  ctx: BuildContext,
  item: IngressItem,
  rule: unknown,
  i: number,
  tls: Map<string, string>,
): void {
  if (!isRecord(rule)) return;
  const host = normalizeHost(rule.host);
  if (!host) {
    const message = `invalid host ${JSON.stringify(rule.host)}: rule skipped`;
    ctx.report(item.ref, {
      severity: 'Error',
      reason: 'InvalidHost',
      message,
      field: `spec.rules[${i}].host`,
    });
    return;
  }
  // A wildcard TLS host of the same Ingress covers its rule hosts (ingress-nginx does the same by SNI).
  if (host !== ANY_HOST && !tls.has(host)) {
    for (const [tlsHost, certificate] of tls) {
      if (tlsCovers(tlsHost, host)) {
        claim(ctx, item, host, certificate, `spec.rules[${i}].host`);
        break;
      }
    }
  }
  const http = isRecord(rule.http) ? rule.http : {};
  asArray<unknown>(http.paths).forEach((p, j) => {
    if (isRecord(p)) addRoute(ctx, item, host, p, `${i}/${j}`, false);
  });
}

function addRoute(
  ctx: BuildContext,
  item: IngressItem,
  host: string,
  p: Record<string, unknown>,
  suffix: string,
  fallback: boolean,
  fallbackField = 'spec.defaultBackend',
): void {
  const field = fallback ? fallbackField : `spec.rules[${suffix.replace('/', '].http.paths[')}]`;
  const pathType = (p.pathType ?? 'ImplementationSpecific') as PathType;
  const path = p.path === undefined && pathType === 'ImplementationSpecific' ? '/' : p.path;
  if (!PATH_TYPES.includes(pathType) || typeof path !== 'string' || !/^\/[^\s]*$/.test(path)) {
    const message = `invalid path ${JSON.stringify(path)} (pathType ${String(pathType)}): path skipped`;
    ctx.report(item.ref, { severity: 'Error', reason: 'InvalidPath', message, field });
    return;
  }
  let backend = resolveBackend(ctx, item.ref, p.backend, fallback ? field : `${field}.backend`);
  // ingress-nginx: a path whose Service has no ready endpoint is served by the default-backend Service.
  if (item.fallback !== undefined && !fallback) {
    ctx.dependsOnReadiness(`${item.ref.namespace}/${backend.service.name}`);
    ctx.dependsOnReadiness(`${item.ref.namespace}/${item.fallback.service.name}`);
    if (!backend.endpoints.some((e) => e.ready)) {
      const substitute = resolveBackend(ctx, item.ref, item.fallback, DEFAULT_BACKEND_FIELD);
      if (substitute.endpoints.some((e) => e.ready)) backend = substitute;
    }
  }
  const { config } = item;
  const route: Draft<Omit<Route, 'backend'>> = {
    id: `Ingress/${item.ref.namespace}/${item.ref.name}/${suffix}`,
    source: sourceRef(item.ref),
    path,
    pathType,
    redirect: {
      sslRedirect: item.config.sslRedirect,
      forceSslRedirect: item.config.forceSslRedirect,
      code: REDIRECT_CODE,
    },
  };
  if (config.hsts) route.hsts = { ...config.hsts };
  if (config.sslPassthrough) route.passthrough = true;
  if (config.access) route.access = { allow: [...config.access.allow], deny: [...config.access.deny] };
  const regex = config.regex && pathType !== 'Exact';
  if (regex) route.match = { kind: 'Regex', pattern: path };
  if (config.rewrite !== undefined) route.rewrite = config.rewrite;
  if (config.forwardedPrefix !== undefined) route.forwardedPrefix = config.forwardedPrefix;
  if (config.upstreamHost !== undefined) route.upstreamHost = config.upstreamHost;
  if (config.answer) route.answer = { ...config.answer };
  if (config.maxBodyBytes !== undefined) route.maxBodyBytes = config.maxBodyBytes;
  if (config.cors) route.cors = { ...config.cors, allowOrigins: [...config.cors.allowOrigins] };
  if (config.limits) route.limits = { ...config.limits, whitelist: [...config.limits.whitelist] };
  const candidate: RouteCandidate = {
    host,
    route,
    // A regex path is no cookie path (ingress-nginx asks for session-cookie-path with use-regex): use `/`.
    backend: {
      ...backend,
      policy: ingressPolicy(config, regex ? '/' : path, backend.service, item.tlsSecret),
    },
    owner: item.ref,
    rank: item.rank,
    fallback,
    field,
  };
  if (config.canary) candidate.canary = canaryRule(config.canary);
  if (config.wwwRedirect && !fallback) candidate.wwwRedirect = true;
  ctx.addRoute(candidate);
}

function canaryRule(c: NonNullable<IngressAnnotations['canary']>): NonNullable<RouteCandidate['canary']> {
  const rule: Draft<NonNullable<RouteCandidate['canary']>> = {
    weight: c['canary-weight'],
    weightTotal: c['canary-weight-total'],
    sticky: c['affinity-canary-behavior'] === 'sticky',
  };
  if (c['canary-by-header'] !== undefined) {
    rule.header = c['canary-by-header'];
    // ingress-nginx: the exact value wins over the pattern; both need the header name.
    if (c['canary-by-header-value'] !== undefined) rule.headerValue = c['canary-by-header-value'];
    else if (c['canary-by-header-pattern'] !== undefined) rule.headerPattern = c['canary-by-header-pattern'];
  }
  if (c['canary-by-cookie'] !== undefined) rule.cookie = c['canary-by-cookie'];
  return rule;
}

// A path whose Service or port is missing still gets a route, answered 503: falling through to a shorter
// path would send the request to an application that never claimed it.
function resolveBackend(ctx: BuildContext, ref: ObjectRef, backend: unknown, field: string) {
  const svc = isRecord(backend) && isRecord(backend.service) ? backend.service : undefined;
  const name = str(svc?.name);
  const port = isRecord(svc?.port) ? svc.port : {};
  const portRef: PortRef | undefined =
    typeof port.number === 'number'
      ? { number: port.number }
      : str(port.name)
        ? { name: String(port.name) }
        : undefined;
  if (!name || !portRef) {
    const what =
      isRecord(backend) && backend.resource !== undefined
        ? 'resource backends are not supported'
        : 'no service name and port';
    ctx.report(
      ref,
      { severity: 'Error', reason: 'UnsupportedBackend', message: `${what}; requests get 503`, field },
      'ref',
    );
    return { service: { namespace: ref.namespace, name: name ?? '', port: '' }, endpoints: [] };
  }
  const portText = 'number' in portRef ? String(portRef.number) : portRef.name;
  const result = resolveEndpoints(ctx.index, ref.namespace, name, portRef, endpointScreen(ctx));
  if (result.problem) {
    const message = `${result.problem.message}; requests get 503`;
    ctx.report(
      ref,
      { severity: 'Error', reason: result.problem.reason, message, field: `${field}.service` },
      'ref',
    );
  }
  return { service: { namespace: ref.namespace, name, port: portText }, endpoints: result.endpoints };
}
