import type { CompiledConfig, CompiledHost, CompiledRoute } from './compile.ts';
import { pickWeighted } from './match.ts';
import { httpsLocation, isAcmeChallenge } from './redirect.ts';
import { parseTarget } from './request-target.ts';
import { hostPort, redirectLocation, rewritePath } from './rewrite.ts';
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
  /** The request headers (lower-case names), for routes with header matches; absent: such routes never match. */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** Uniform in [0, 1), drawn by the caller: picks the entry of a weighted split. Absent counts as 0. */
  readonly roll?: number;
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

/** Answer locally: 400, 403, 404, 500 (split share of an unresolved reference) or 503. `hsts` is the header value to add (HTTPS, route with HSTS). */
export interface LocalDecision<B> extends Common<B> {
  readonly kind: 'local';
  readonly status: 400 | 403 | 404 | 500 | 503;
  /** Why, in words (explain, debug logs). */
  readonly reason: string;
  readonly hsts: string | undefined;
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
  readonly tunnel: boolean;
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
  const route = findRoute(vhost, path, {
    method: facts.method,
    headers: facts.headers,
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
  let backend = route.backend;
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
  const rewrite = filters?.rewrite;
  const target = rewrite?.path ? rewritePath(path, rewrite.path, prefix) + parsed.query : path + parsed.query;
  const authority = rewrite?.hostname ?? rawHost;
  return { kind: 'proxy', host, path, vhost, route, backend, target, authority, tunnel };
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
