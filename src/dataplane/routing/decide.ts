import type { CompiledConfig, CompiledHost, CompiledRoute } from './compile.ts';
import { pickWeighted } from './match.ts';
import { httpsLocation, isAcmeChallenge } from './redirect.ts';
import { parseTarget } from './request-target.ts';
import { hostPort, redirectLocation, rewritePath } from './rewrite.ts';
import { applyRouteRules, hostRedirect, type RuleFacts } from './route-rules.ts';
import { findHost, findRoute, normalizeHost } from './router.ts';

/**
 * The one request decision: host -> route -> access -> redirect -> backend, as a pure function of the compiled
 * snapshot and what the request says. The HTTP path, the Upgrade path and `sticky-ingress explain` all call it,
 * so they cannot disagree. Picking the endpoint (stateful balancing) is left to the caller.
 */

/** What the request says, and about the listener it arrived on. Plain data; nothing is read from sockets. */
export interface RequestFacts {
  readonly method: string;
  /** The request target exactly as received (req.url). */
  readonly target: string;
  /** The Host header as received, or undefined. */
  readonly host: string | undefined;
  /** True on the HTTPS listener. */
  readonly secure: boolean;
  /** The client address the forwarded-header logic trusts (the peer unless a trusted proxy said otherwise). */
  readonly clientAddress: string;
  /** `websocket`: GET with `Upgrade: websocket`; `other`: any other Upgrade request; `none`: a plain request. */
  readonly upgrade: 'none' | 'websocket' | 'other';
  /** The HTTPS port redirects point at. */
  readonly httpsPort: number;
  /** True once the dataplane is draining: no new tunnel is opened. */
  readonly draining: boolean;
  /** A request header by lower-case name (CORS Origin, canary header, Content-Length); absent: none. */
  readonly header?: (name: string) => string | undefined;
  /** A request cookie by name (canary-by-cookie); absent: none. */
  readonly cookie?: (name: string) => string | undefined;
  /**
   * Uniform draw in [0, 1) for the canary weight (absent: 1, weight never picks the canary) and for the entry
   * of a weighted split (Gateway API backendRefs; absent: the first entry).
   */
  readonly roll?: number;
  /** Whether the affinity cookie pins the request to an endpoint of `backend` (sticky canary). */
  readonly pinned?: (backend: unknown) => boolean;
}

/** Fields every decision carries (for the access log and explain). */
interface Common<B> {
  /** The normalised host routed on ('' when missing). */
  readonly host: string;
  /** The normalised path routed on ('' when the target was refused). */
  readonly path: string;
  /** The virtual host matched, if any. */
  readonly vhost: CompiledHost<B> | undefined;
  readonly route: CompiledRoute<B> | undefined;
}

/**
 * Answer locally: 204, 400, 403, 404, 413, 500 (split share of an unresolved reference) or 503. `hsts` is the
 * header value to add (HTTPS, route with HSTS).
 */
export interface LocalDecision<B> extends Common<B> {
  readonly kind: 'local';
  readonly status: 204 | 400 | 403 | 404 | 413 | 500 | 503;
  /** Why, in words (explain, debug logs). */
  readonly reason: string;
  readonly hsts: string | undefined;
  /** More headers of the answer (CORS preflight, `connection: close` after 413). */
  readonly headers?: readonly string[];
}

/** Answer with a redirect to HTTPS. */
export interface RedirectDecision<B> extends Common<B> {
  readonly kind: 'redirect';
  readonly status: number;
  readonly location: string;
}

/** Proxy to `backend`: send `target` (origin-form, normalised) with Host `authority`; tunnel when `tunnel`. */
export interface ProxyDecision<B> extends Common<B> {
  readonly kind: 'proxy';
  readonly route: CompiledRoute<B>;
  readonly backend: B;
  readonly target: string;
  readonly authority: string;
  /** Host header sent upstream: the route's `upstream-vhost`, else `authority`. */
  readonly upstreamHost: string;
  readonly tunnel: boolean;
  /** The request went to the route's canary backend. */
  readonly canary: boolean;
  /** Request headers the route adds (x-forwarded-prefix), response headers it adds (CORS). */
  readonly requestHeaders: readonly string[];
  readonly responseHeaders: readonly string[];
}

export type Decision<B> = LocalDecision<B> | RedirectDecision<B> | ProxyDecision<B>;

/** Decides what to do with one request; never throws, never touches state. */
export function decide<B>(config: CompiledConfig<B>, facts: RequestFacts): Decision<B> {
  const parsed = parseTarget(facts.target);
  const rawHost = parsed?.authority ?? facts.host ?? '';
  const host = normalizeHost(rawHost);
  if (parsed === undefined)
    return local(host, '', undefined, undefined, 400, 'request target refused', undefined);
  const path = parsed.path;
  if (facts.upgrade === 'other') {
    // Only WebSocket is tunnelled (h2c smuggling); listeners hand such requests to the HTTP path instead.
    return local(host, path, undefined, undefined, 400, 'upgrade other than GET websocket', undefined);
  }
  const vhost = findHost(config, host);
  if (vhost === undefined)
    return local(host, path, vhost, undefined, 404, `no host matches ${host}`, undefined);
  const rules = ruleFacts(facts, path, parsed.query);
  const twin = hostRedirect(vhost, rules);
  if (twin?.kind === 'redirect') return { ...twin, host, path, vhost, route: undefined };
  const route = findRoute(vhost, path, {
    method: facts.method,
    header: rules.header,
    query: parsed.query,
    secure: facts.secure,
  });
  if (route === undefined) {
    return local(
      host,
      path,
      vhost,
      undefined,
      404,
      `no route of ${vhost.hostname} matches path ${path}`,
      undefined,
    );
  }
  const hsts = facts.secure ? route.hsts : undefined;
  if (!route.access.allows(facts.clientAddress)) {
    return local(host, path, vhost, route, 403, `client ${facts.clientAddress} denied by route access`, hsts);
  }
  if (!facts.secure && route.redirectToHttps && !isAcmeChallenge(path)) {
    const location = httpsLocation(host, path + parsed.query, facts.httpsPort);
    if (location === undefined)
      return local(host, path, vhost, route, 400, 'host unsafe for redirect', undefined);
    return { kind: 'redirect', host, path, vhost, route, status: route.redirectCode, location };
  }
  const filters = route.filters;
  const prefix = route.exact ? undefined : route.path;
  if (filters?.redirect !== undefined) {
    const input = { secure: facts.secure, host, port: hostPort(rawHost), path, query: parsed.query, prefix };
    const location = redirectLocation(filters.redirect, input);
    if (location === undefined)
      return local(host, path, vhost, route, 400, 'host unsafe for redirect', undefined);
    return { kind: 'redirect', host, path, vhost, route, status: filters.redirect.statusCode, location };
  }
  // ingress-nginx annotation rules (issue 15): redirects, CORS preflight, body size, canary, rewrite.
  const ruled = applyRouteRules(route, rules);
  if (ruled.kind === 'redirect') return { ...ruled, host, path, vhost, route };
  if (ruled.kind === 'local') {
    const why =
      ruled.status === 204 ? 'CORS preflight' : ruled.status === 413 ? 'body too large' : 'bad host';
    return { ...local(host, path, vhost, route, ruled.status, why, hsts), headers: ruled.headers };
  }
  let backend = ruled.backend;
  let backendId = route.backendId;
  if (route.split !== undefined) {
    const entry = pickWeighted(route.split.entries, route.split.total, facts.roll ?? 0);
    // Gateway API HTTPBackendRef: the share of an invalid reference (or of a split of all zero weights) is a 500.
    if (entry === undefined || entry.backendId === undefined)
      return local(host, path, vhost, route, 500, 'no valid backend for this share of the split', hsts);
    backend = entry.backend;
    backendId = entry.backendId;
  }
  if (backend === undefined) {
    return local(host, path, vhost, route, 503, `backend ${backendId} is not in the snapshot`, hsts);
  }
  const tunnel = facts.upgrade === 'websocket';
  if (tunnel && facts.draining) return local(host, path, vhost, route, 503, 'draining: no new tunnel', hsts);
  const { canary, requestHeaders, responseHeaders } = ruled;
  // Gateway API URLRewrite filter: path and Host sent upstream; Ingress routes rewrite by annotation (ruled).
  const rewrite = filters?.rewrite;
  const target = rewrite?.path ? rewritePath(path, rewrite.path, prefix) + parsed.query : ruled.target;
  return {
    kind: 'proxy',
    host,
    path,
    vhost,
    route,
    backend,
    target,
    authority: rawHost,
    upstreamHost: rewrite?.hostname ?? route.route.upstreamHost ?? rawHost,
    tunnel,
    canary,
    requestHeaders,
    responseHeaders,
  };
}

function ruleFacts(facts: RequestFacts, path: string, query: string): RuleFacts {
  const none = () => undefined;
  return {
    method: facts.method,
    path,
    query,
    hostHeader: facts.host,
    secure: facts.secure,
    header: facts.header ?? none,
    cookie: facts.cookie ?? none,
    roll: facts.roll ?? 1,
    pinned: facts.pinned ?? (() => false),
  };
}

/** The 503 a proxy decision turns into when the backend has no eligible endpoint. */
export function noEndpoint<B>(d: ProxyDecision<B>, secure: boolean): LocalDecision<B> {
  const hsts = secure ? d.route.hsts : undefined;
  return local(d.host, d.path, d.vhost, d.route, 503, 'no eligible endpoint', hsts);
}

function local<B>(
  host: string,
  path: string,
  vhost: CompiledHost<B> | undefined,
  route: CompiledRoute<B> | undefined,
  status: LocalDecision<B>['status'],
  reason: string,
  hsts: string | undefined,
): LocalDecision<B> {
  return { kind: 'local', host, path, vhost, route, status, reason, hsts };
}

/**
 * What the request's Upgrade header asks for: only `GET` with an `Upgrade: websocket` token (RFC 6455 4.1,
 * case-insensitive) is a WebSocket upgrade; any other Upgrade request is `other`.
 */
export function upgradeKind(
  method: string | undefined,
  upgrade: string | undefined,
): RequestFacts['upgrade'] {
  if (upgrade === undefined) return 'none';
  if (method !== 'GET') return 'other';
  for (const token of upgrade.split(',')) if (token.trim().toLowerCase() === 'websocket') return 'websocket';
  return 'other';
}
