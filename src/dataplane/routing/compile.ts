import {
  comparePrecedence,
  type HstsPolicy,
  LinearRegex,
  type RequestMatch,
  type Route,
  type RouteFilters,
  type Snapshot,
  type VirtualHost,
} from '../../snapshot/index.ts';
import { type AccessCheck, compileAccess } from './access.ts';

/**
 * Compiles a snapshot into the structure the hot path reads: one Map lookup per host, routes in match order
 * with their path test, redirect decision and HSTS header precomputed. Built off the hot path, at apply().
 */
export interface CompiledRoute<B> {
  readonly route: Route;
  readonly id: string;
  readonly exact: boolean;
  /** Exact: the whole path. Prefix: the path without its trailing slash ('' for `/`, which matches all). */
  readonly path: string;
  readonly backendId: string;
  /** The upstream state of the backend; undefined when the snapshot names a backend it does not carry (503). */
  readonly backend: B | undefined;
  /** True when the HTTP listener answers this route with a redirect to HTTPS. */
  readonly redirectToHttps: boolean;
  readonly redirectCode: number;
  /** Strict-Transport-Security value for HTTPS responses, or undefined. */
  readonly hsts: string | undefined;
  /** Regex routes (ingress-nginx use-regex): the linear-time matcher, case-insensitive, from the start. */
  readonly regex: LinearRegex | undefined;
  /** The canary's upstream state and header pattern, when the route has a canary. */
  readonly canaryBackend: B | undefined;
  readonly canaryPattern: LinearRegex | undefined;
  /** Route.access compiled: which client addresses may use the route (403 otherwise). */
  readonly access: AccessCheck;
  /** Route.conditions: method/header/query conditions (match.ts), or undefined. */
  readonly conditions: RequestMatch | undefined;
  /** Route.split resolved to upstream states, with the sum of its weights; undefined without a split. */
  readonly split: CompiledSplit<B> | undefined;
  readonly filters: RouteFilters | undefined;
  readonly listener: 'http' | 'https' | undefined;
}

/** A weighted split: `backend` undefined with `backendId` set means the snapshot lacks it (503). */
export interface CompiledSplit<B> {
  readonly entries: readonly { weight: number; backendId: string | undefined; backend: B | undefined }[];
  readonly total: number;
}

export interface CompiledHost<B> {
  readonly hostname: string;
  readonly tls: boolean;
  readonly routes: readonly CompiledRoute<B>[];
  /** from-to-www-redirect: every request is redirected (308) to this host. */
  readonly redirectTo: string | undefined;
  /** `server-alias`: the rule host this host is an alias of. */
  readonly aliasOf: string | undefined;
  /**
   * A `*.` host's routes that follow Gateway API wildcards (Route.wildcardAnyLabels), for names with more
   * than one label in place of the `*`; undefined when it has none.
   */
  readonly deep: CompiledHost<B> | undefined;
}

/** The compiled form of one snapshot. findHost()/findRoute() in router.ts read it; decide() uses them. */
export interface CompiledConfig<B> {
  readonly snapshot: Snapshot;
  readonly exact: ReadonlyMap<string, CompiledHost<B>>;
  /** `*.example.com` stored under `example.com`. */
  readonly wildcard: ReadonlyMap<string, CompiledHost<B>>;
  /** How many of `wildcard` have a `deep` part: 0 (Ingress only) skips the walk over a name's suffixes. */
  readonly deepWildcards: number;
  readonly catchAll: CompiledHost<B> | undefined;
  /** Compiled hosts by the snapshot's VirtualHost object, so the next compile can reuse unchanged ones. */
  readonly byVhost: ReadonlyMap<VirtualHost, CompiledHost<B>>;
  /** Which hosts route to each backend id, once a patch needed it (compile-patch.ts); kept up to date there. */
  readonly byBackend?: ReadonlyMap<string, ReadonlySet<VirtualHost>>;
}

/**
 * Compiles `snapshot`; `resolve` maps a backend id to its upstream state (called once per route). A host
 * of `previous` is reused when the snapshot carries the very same (frozen) VirtualHost and its routes
 * resolve to the same upstream states.
 */
export function compileSnapshot<B>(
  snapshot: Snapshot,
  resolve: (id: string) => B | undefined,
  previous?: CompiledConfig<B>,
): CompiledConfig<B> {
  const exact = new Map<string, CompiledHost<B>>();
  const wildcard = new Map<string, CompiledHost<B>>();
  const byVhost = new Map<VirtualHost, CompiledHost<B>>();
  let catchAll: CompiledHost<B> | undefined;
  let deepWildcards = 0;
  for (const vhost of snapshot.hosts) {
    const seen = Object.isFrozen(vhost) ? previous?.byVhost.get(vhost) : undefined;
    const host = seen?.routes.every(
      (r) =>
        r.backend === resolve(r.backendId) &&
        r.canaryBackend === canaryOf(r.route, resolve) &&
        (r.split?.entries.every((e) => e.backendId === undefined || e.backend === resolve(e.backendId)) ??
          true),
    )
      ? seen
      : compileHost(vhost, resolve);
    byVhost.set(vhost, host);
    const name = vhost.hostname.toLowerCase();
    if (name === '*') catchAll = host;
    else if (name.startsWith('*.')) {
      wildcard.set(name.slice(2), host);
      if (host.deep !== undefined) deepWildcards++;
    } else exact.set(name, host);
  }
  return { snapshot, exact, wildcard, deepWildcards, catchAll, byVhost };
}

/** One host compiled on its own (compileSnapshot and the patches of compile-patch.ts). */
export function compileHost<B>(vhost: VirtualHost, resolve: (id: string) => B | undefined): CompiledHost<B> {
  const tls = vhost.tls !== undefined;
  // The builder sorts already; sorting again keeps the matcher correct for any producer (tests, manifests).
  // The snapshot's one precedence (src/snapshot/precedence.ts), the builder's sort too; re-sorted here so a
  // hand-made snapshot (tests, embedders) routes the same.
  const routes = [...vhost.routes].sort(comparePrecedence).map((route) => compileRoute(route, tls, resolve));
  const hostname = vhost.hostname.toLowerCase();
  const host = { hostname, tls, routes, redirectTo: vhost.redirectTo, aliasOf: vhost.aliasOf };
  // Gateway API (HTTPRoute hostnames): `*.example.com` also matches `a.b.example.com`; Ingress routes of the
  // same host keep the Ingress rule (exactly one label), so only the Gateway routes serve deeper names.
  const deepRoutes = hostname.startsWith('*.') ? routes.filter((r) => r.route.wildcardAnyLabels) : [];
  const deep = deepRoutes.length === 0 ? undefined : { ...host, routes: deepRoutes, deep: undefined };
  return { ...host, deep };
}

function compileRoute<B>(
  route: Route,
  tls: boolean,
  resolve: (id: string) => B | undefined,
): CompiledRoute<B> {
  const exact = route.pathType === 'Exact';
  const path = exact ? route.path : trimSlash(route.path);
  return {
    route,
    id: route.id,
    exact,
    path,
    backendId: route.backend,
    backend: resolve(route.backend),
    redirectToHttps: route.redirect.forceSslRedirect || (tls && route.redirect.sslRedirect),
    redirectCode: route.redirect.code,
    hsts: route.hsts ? hstsValue(route.hsts) : undefined,
    regex: route.match ? compilePattern(route.match.pattern, PATH_MATCH) : undefined,
    canaryBackend: canaryOf(route, resolve),
    canaryPattern:
      route.canary?.headerPattern === undefined
        ? undefined
        : compilePattern(route.canary.headerPattern, SEARCH),
    access: compileAccess(route.access),
    conditions: route.conditions,
    split: route.split ? compileSplit(route, resolve) : undefined,
    filters: route.filters,
    listener: route.listener,
  };
}

function compileSplit<B>(route: Route, resolve: (id: string) => B | undefined): CompiledSplit<B> {
  const entries = (route.split ?? []).map((e) => ({
    weight: Number.isFinite(e.weight) && e.weight > 0 ? e.weight : 0,
    backendId: e.backend,
    backend: e.backend === undefined ? undefined : resolve(e.backend),
  }));
  return { entries, total: entries.reduce((n, e) => n + e.weight, 0) };
}

/**
 * The backend a request goes to: with a weighted split, the entry whose backend the request's affinity cookie
 * already pins (session persistence wins over the split, GEP-1619), else the one decide() drew.
 */
export function pinnedBackend<B extends { pins(cookie: string | undefined): boolean }>(
  route: CompiledRoute<B>,
  drawn: B,
  cookie: string | undefined,
): B {
  if (route.split === undefined || cookie === undefined) return drawn;
  for (const e of route.split.entries) if (e.backend?.pins(cookie)) return e.backend;
  return drawn;
}

const PATH_MATCH = { caseInsensitive: true, anchored: true } as const;
const SEARCH = { caseInsensitive: false, anchored: false } as const;

// The builder validated every pattern; one a hand-written snapshot got wrong matches nothing rather than throw.
function compilePattern(pattern: string, options: typeof PATH_MATCH | typeof SEARCH): LinearRegex {
  try {
    return new LinearRegex(pattern, options);
  } catch {
    return new LinearRegex('[^\\s\\S]', options);
  }
}

function canaryOf<B>(route: Route, resolve: (id: string) => B | undefined): B | undefined {
  return route.canary === undefined ? undefined : resolve(route.canary.backend);
}

function trimSlash(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  return path.slice(0, end);
}

/** RFC 6797 header value. */
function hstsValue(h: HstsPolicy): string {
  let v = `max-age=${h.maxAgeSeconds}`;
  if (h.includeSubdomains) v += '; includeSubDomains';
  if (h.preload) v += '; preload';
  return v;
}
