import { createHash } from 'node:crypto';
import { canonicalJson } from '../../snapshot/hash.ts';
import { comparePrecedence } from '../../snapshot/precedence.ts';
import type { Backend, Draft, Route, Snapshot, VirtualHost } from '../../snapshot/types.ts';
import type { BuildContext, RouteCandidate, TlsClaim } from './context.ts';
import { compareRank, compareStrings } from './meta.ts';

type Body = Omit<Snapshot, 'version' | 'hash'>;

/**
 * The last step of a build: settle conflicts (oldest object wins each host+path+pathType), name backends,
 * give hosts their TLS, drop hosts without routes, and sort everything.
 */
export function assemble(ctx: BuildContext, defaultCertificate: string | undefined): Body {
  const winners = settleConflicts(ctx);
  const backendIds = nameBackends(ctx, winners);
  const byHost = new Map<string, Route[]>();
  const backends = new Map<string, Backend>();
  for (const c of winners) {
    const id = backendIds.get(c)!;
    const routes = byHost.get(c.host);
    if (routes) routes.push(routeOf(ctx, c, id));
    else byHost.set(c.host, [routeOf(ctx, c, id)]);
    const seen = backends.get(id);
    if (!seen || compareSource(c, seen) < 0) backends.set(id, backendOf(ctx, c, id));
  }
  const tls = settleTls(ctx, new Set(byHost.keys()));
  const hosts: VirtualHost[] = [...byHost].map(([hostname, routes]) => {
    const claim = tls.get(hostname);
    return hostOf(ctx, hostname, routes.sort(comparePrecedence), claim && (claim.certificate ?? ''));
  });
  const used = new Set(hosts.map((h) => h.tls?.certificate).filter((c): c is string => !!c));
  if (defaultCertificate) used.add(defaultCertificate);
  const body: Draft<Body> = {
    hosts: hosts.sort((a, b) => compareStrings(a.hostname, b.hostname)),
    backends: [...backends.values()].sort((a, b) => compareStrings(a.id, b.id)),
    certificates: [...ctx.certificates.values()]
      .filter((c) => used.has(c.id))
      .sort((a, b) => compareStrings(a.id, b.id)),
  };
  if (defaultCertificate) body.defaultCertificate = defaultCertificate;
  return body;
}

// The same candidate named the same way gives the same object as in the last build (structural sharing).
function routeOf(ctx: BuildContext, c: RouteCandidate, backend: string): Route {
  const seen = ctx.cache.routes.get(c);
  if (seen?.backend === backend) return seen;
  const route: Route = { ...c.route, backend };
  ctx.cache.routes.set(c, route);
  return route;
}

function backendOf(ctx: BuildContext, c: RouteCandidate, id: string): Backend {
  const seen = ctx.cache.backends.get(c);
  if (seen?.id === id) return seen;
  const backend: Backend = {
    id,
    service: { ...c.backend.service },
    source: { ...c.route.source },
    endpoints: c.backend.endpoints,
    ...structuredClone(c.backend.policy),
  };
  ctx.cache.backends.set(c, backend);
  return backend;
}

/** `certificate`: undefined without TLS, '' for the default certificate. */
function hostOf(
  ctx: BuildContext,
  hostname: string,
  routes: Route[],
  certificate: string | undefined,
): VirtualHost {
  const seen = ctx.cache.hosts.get(hostname);
  if (
    seen !== undefined &&
    (seen.tls === undefined ? certificate === undefined : (seen.tls.certificate ?? '') === certificate) &&
    seen.routes.length === routes.length &&
    seen.routes.every((r, i) => r === routes[i])
  ) {
    return seen;
  }
  const host: Draft<VirtualHost> = { hostname, routes };
  if (certificate !== undefined) host.tls = certificate ? { certificate } : {};
  const passthrough = passthroughRoute(routes);
  if (passthrough !== undefined) host.passthrough = { backend: passthrough.backend };
  return host;
}

/**
 * The route whose backend gets a passthrough host's raw TLS: its `/` Prefix route, else its first passthrough
 * route by precedence (TLS bytes carry no path to choose by). Only routes that asked for passthrough count.
 */
function passthroughRoute(routes: readonly Route[]): Route | undefined {
  const asked = routes.filter((r) => r.passthrough);
  return asked.find((r) => r.path === '/' && r.pathType !== 'Exact') ?? asked[0];
}

// Prefix paths match by element, so `/a/` and `/a` are the same match; ImplementationSpecific is Prefix.
function matchKey(c: RouteCandidate): string {
  const exact = c.route.pathType === 'Exact';
  return `${c.host} ${exact ? 'Exact' : 'Prefix'} ${exact ? c.route.path : c.route.path.replace(/\/+$/, '') || '/'}`;
}

function settleConflicts(ctx: BuildContext): RouteCandidate[] {
  const groups = new Map<string, RouteCandidate[]>();
  for (const c of ctx.routes) {
    const list = groups.get(matchKey(c)) ?? [];
    list.push(c);
    groups.set(matchKey(c), list);
  }
  const winners: RouteCandidate[] = [];
  for (const list of groups.values()) {
    list.sort(
      (a, b) =>
        Number(a.fallback) - Number(b.fallback) ||
        compareRank(a.rank, b.rank) ||
        compareStrings(a.route.id, b.route.id),
    );
    const [winner, ...losers] = list as [RouteCandidate, ...RouteCandidate[]];
    winners.push(winner);
    for (const loser of losers) {
      const message = `${loser.route.pathType} path ${loser.route.path} on host ${loser.host} is already served by ${winner.route.id} (${winner.fallback ? 'a default backend' : 'older, or first by namespace/name'}); this path is ignored`;
      ctx.report(loser.owner, { severity: 'Warning', reason: 'PathConflict', message, field: loser.field });
    }
  }
  return winners;
}

/** `ns/service:port`, plus `~hash` of the policy when routes to one Service port disagree on policies. */
function nameBackends(ctx: BuildContext, winners: RouteCandidate[]): Map<RouteCandidate, string> {
  const policiesByBase = new Map<string, Set<string>>();
  const keyOf = new Map<RouteCandidate, { base: string; policy: string }>();
  for (const c of winners) {
    const { namespace, name, port } = c.backend.service;
    const base = `${namespace}/${name}:${port}`;
    let policy = ctx.cache.policyKeys.get(c.backend.policy);
    if (policy === undefined) {
      policy = canonicalJson(c.backend.policy);
      ctx.cache.policyKeys.set(c.backend.policy, policy);
    }
    keyOf.set(c, { base, policy });
    const set = policiesByBase.get(base) ?? new Set<string>();
    set.add(policy);
    policiesByBase.set(base, set);
  }
  const ids = new Map<RouteCandidate, string>();
  for (const [c, { base, policy }] of keyOf) {
    const shared = (policiesByBase.get(base)?.size ?? 1) === 1;
    ids.set(c, shared ? base : `${base}~${createHash('sha256').update(policy).digest('hex').slice(0, 8)}`);
  }
  return ids;
}

// The backend's `source` is the first object, by kind/namespace/name, among the routes sharing it.
function compareSource(c: RouteCandidate, b: Backend): number {
  const s = c.route.source;
  return compareStrings(
    `${s.kind}/${s.namespace}/${s.name}`,
    `${b.source.kind}/${b.source.namespace}/${b.source.name}`,
  );
}

/** One claim per served host: the oldest claim with a usable certificate, else the oldest claim. */
function settleTls(ctx: BuildContext, served: ReadonlySet<string>): Map<string, TlsClaim> {
  const byHost = new Map<string, TlsClaim[]>();
  for (const claim of ctx.tls) {
    if (!served.has(claim.host)) continue;
    const list = byHost.get(claim.host) ?? [];
    list.push(claim);
    byHost.set(claim.host, list);
  }
  const out = new Map<string, TlsClaim>();
  for (const [host, list] of byHost) {
    list.sort((a, b) => Number(!a.certificate) - Number(!b.certificate) || compareRank(a.rank, b.rank));
    const winner = list[0]!;
    out.set(host, winner);
    for (const other of list) {
      if (!other.certificate || other.certificate === winner.certificate) continue;
      const message = `host ${host} already uses certificate ${winner.certificate} from ${winner.owner.kind} ${winner.owner.namespace}/${winner.owner.name}; ${other.certificate} is not used for it`;
      ctx.report(other.owner, {
        severity: 'Warning',
        reason: 'CertificateConflict',
        message,
        field: other.field,
      });
    }
  }
  return out;
}
