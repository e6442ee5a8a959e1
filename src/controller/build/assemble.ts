import { createHash } from 'node:crypto';
import { canonicalJson } from '../../snapshot/hash.ts';
import { comparePrecedence } from '../../snapshot/precedence.ts';
import type { Backend, Draft, Route, Snapshot, VirtualHost } from '../../snapshot/types.ts';
import type { BackendRequest, BuildContext, RouteCandidate, TlsClaim } from './context.ts';
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
    const id = backendIds.get(c.backend)!;
    const routes = byHost.get(c.host);
    if (routes) routes.push(routeOf(ctx, c, id, backendIds));
    else byHost.set(c.host, [routeOf(ctx, c, id, backendIds)]);
    for (const request of requestsOf(c)) {
      const bid = backendIds.get(request)!;
      const seen = backends.get(bid);
      if (!seen || compareSource(c, seen) < 0) backends.set(bid, backendOf(ctx, c, request, bid));
    }
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
function routeOf(
  ctx: BuildContext,
  c: RouteCandidate,
  backend: string,
  ids: ReadonlyMap<BackendRequest, string>,
): Route {
  const split = c.split?.map((e) =>
    e.backend === undefined ? { weight: e.weight } : { backend: ids.get(e.backend)!, weight: e.weight },
  );
  const seen = ctx.cache.routes.get(c);
  if (seen?.backend === backend && canonicalJson(seen.split) === canonicalJson(split)) return seen;
  const route: Route = split ? { ...c.route, backend, split } : { ...c.route, backend };
  ctx.cache.routes.set(c, route);
  return route;
}

/** Every backend a candidate asks for: its backend, plus the other entries of its split. */
function requestsOf(c: RouteCandidate): BackendRequest[] {
  const out = [c.backend];
  for (const e of c.split ?? []) if (e.backend !== undefined && !out.includes(e.backend)) out.push(e.backend);
  return out;
}

function backendOf(ctx: BuildContext, c: RouteCandidate, request: BackendRequest, id: string): Backend {
  const seen = ctx.cache.backends.get(request);
  if (seen?.id === id) return seen;
  const backend: Backend = {
    id,
    service: { ...request.service },
    source: { ...c.route.source },
    endpoints: request.endpoints,
    ...structuredClone(request.policy),
  };
  ctx.cache.backends.set(request, backend);
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
  return host;
}

// Prefix paths match by element, so `/a/` and `/a` are the same match; ImplementationSpecific is Prefix.
function matchKey(c: RouteCandidate): string {
  const exact = c.route.pathType === 'Exact';
  const path = exact ? c.route.path : c.route.path.replace(/\/+$/, '') || '/';
  // Routes with different method/header/query conditions do not conflict (Gateway API HTTPRouteMatch).
  const match = c.route.match ? ` ${canonicalJson(c.route.match)}` : '';
  return `${c.host} ${exact ? 'Exact' : 'Prefix'} ${path}${match}`;
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
    // Candidates on disjoint listeners (an HTTPRoute through HTTP listeners only, another through HTTPS only)
    // both win; any overlap is a conflict the oldest wins.
    const won: RouteCandidate[] = [];
    for (const c of list) {
      const winner = won.find((w) => overlaps(w, c));
      if (winner === undefined) {
        won.push(c);
        winners.push(c);
        continue;
      }
      const loser = c;
      const message = `${loser.route.pathType} path ${loser.route.path} on host ${loser.host} is already served by ${winner.route.id} (${winner.fallback ? 'a default backend' : 'older, or first by namespace/name'}); this path is ignored`;
      ctx.report(loser.owner, { severity: 'Warning', reason: 'PathConflict', message, field: loser.field });
    }
  }
  return winners;
}

const overlaps = (a: RouteCandidate, b: RouteCandidate) =>
  a.route.listener === undefined || b.route.listener === undefined || a.route.listener === b.route.listener;

/** `ns/service:port`, plus `~hash` of the policy when routes to one Service port disagree on policies. */
function nameBackends(ctx: BuildContext, winners: RouteCandidate[]): Map<BackendRequest, string> {
  const policiesByBase = new Map<string, Set<string>>();
  const keyOf = new Map<BackendRequest, { base: string; policy: string }>();
  for (const c of winners.flatMap(requestsOf)) {
    const { namespace, name, port } = c.service;
    const base = `${namespace}/${name}:${port}`;
    let policy = ctx.cache.policyKeys.get(c.policy);
    if (policy === undefined) {
      policy = canonicalJson(c.policy);
      ctx.cache.policyKeys.set(c.policy, policy);
    }
    keyOf.set(c, { base, policy });
    const set = policiesByBase.get(base) ?? new Set<string>();
    set.add(policy);
    policiesByBase.set(base, set);
  }
  const ids = new Map<BackendRequest, string>();
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
