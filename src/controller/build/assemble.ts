import { createHash } from 'node:crypto';
import { canonicalJson } from '../../snapshot/hash.ts';
import { comparePrecedence } from '../../snapshot/precedence.ts';
import { escapeRegex } from '../../snapshot/regex/escape.ts';
import type { Backend, Draft, Route, Snapshot, VirtualHost } from '../../snapshot/types.ts';
import { aliasHosts } from './aliases.ts';
import type { BackendRequest, BuildContext, RouteCandidate, TlsClaim } from './context.ts';
import { compareRank, compareStrings, type ObjectRef } from './meta.ts';

type Body = Omit<Snapshot, 'version' | 'hash'>;

/**
 * The last step of a build: settle conflicts (oldest object wins each host+path+pathType), name backends,
 * give hosts their TLS, drop hosts without routes, and sort everything.
 */
export function assemble(ctx: BuildContext, defaultCertificate: string | undefined): Body {
  const winners = settleConflicts(
    ctx,
    ctx.routes.filter((c) => !c.canary),
  );
  const canaries = attachCanaries(ctx, winners);
  const backendIds = nameBackends(ctx, [...winners, ...canaries.values()]);
  const byHost = new Map<string, Route[]>();
  const backends = new Map<string, Backend>();
  const addBackend = (c: RouteCandidate, request: BackendRequest) => {
    const id = backendIds.get(request)!;
    const seen = backends.get(id);
    if (!seen || compareSource(c, seen) < 0) backends.set(id, backendOf(ctx, c, request, id));
  };
  for (const c of winners) {
    const id = backendIds.get(c.backend)!;
    const canary = canaries.get(c);
    const base = routeOf(ctx, c, id, backendIds);
    const route = canary ? withCanary(base, canary, backendIds.get(canary.backend)!) : base;
    const routes = byHost.get(c.host);
    if (routes) routes.push(route);
    else byHost.set(c.host, [route]);
    for (const request of requestsOf(c)) addBackend(c, request);
    if (canary) addBackend(canary, canary.backend);
  }
  const twins = wwwTwins(winners, byHost);
  const served = new Set([...byHost.keys(), ...twins.values()]);
  const tls = settleTls(
    ctx,
    ctx.tls.filter((claim) => served.has(claim.host)),
  );
  const hosts: VirtualHost[] = [...byHost].map(([hostname, routes]) => {
    const claim = tls.get(hostname);
    return hostOf(
      ctx,
      hostname,
      regexHost(routes).sort(comparePrecedence),
      claim && (claim.certificate ?? ''),
    );
  });
  for (const [twin, target] of twins) {
    // The twin is served with the target's certificate: ingress-nginx, too, needs it to name both hosts.
    const claim = tls.get(target);
    const host: Draft<VirtualHost> = { hostname: twin, routes: [], redirectTo: target };
    if (claim) host.tls = claim.certificate ? { certificate: claim.certificate } : {};
    hosts.push(host);
  }
  hosts.push(...aliasHosts(ctx, hosts, definedHosts(ctx, winners, twins)));
  const listenerCertificates = [...settleTls(ctx, ctx.listenerTls)]
    .filter(([, claim]) => claim.certificate !== undefined)
    .map(([hostname, claim]) => ({ hostname, certificate: claim.certificate as string }))
    .sort((a, b) => compareStrings(a.hostname, b.hostname));
  const used = new Set(hosts.map((h) => h.tls?.certificate).filter((c): c is string => !!c));
  for (const l of listenerCertificates) used.add(l.certificate);
  if (defaultCertificate) used.add(defaultCertificate);
  for (const b of backends.values()) if (b.tls?.secret) used.add(b.tls.secret);
  const body: Draft<Body> = {
    hosts: hosts.sort((a, b) => compareStrings(a.hostname, b.hostname)),
    backends: [...backends.values()].sort((a, b) => compareStrings(a.id, b.id)),
    certificates: [...ctx.certificates.values()]
      .filter((c) => used.has(c.id))
      .sort((a, b) => compareStrings(a.id, b.id)),
  };
  if (defaultCertificate) body.defaultCertificate = defaultCertificate;
  if (listenerCertificates.length > 0) body.listenerCertificates = listenerCertificates;
  return body;
}

// Every host some object defines (rules of every candidate, canaries and losers too; www twins), with the
// oldest object defining it: what a server-alias may never take.
function definedHosts(
  ctx: BuildContext,
  winners: readonly RouteCandidate[],
  twins: ReadonlyMap<string, string>,
): Map<string, ObjectRef> {
  const out = new Map<string, { owner: ObjectRef; rank: RouteCandidate['rank'] }>();
  for (const c of ctx.routes) {
    const seen = out.get(c.host);
    if (seen === undefined || compareRank(c.rank, seen.rank) < 0)
      out.set(c.host, { owner: c.owner, rank: c.rank });
  }
  for (const [twin, target] of twins) {
    const w = winners.find((c) => c.host === target);
    if (w !== undefined && !out.has(twin)) out.set(twin, { owner: w.owner, rank: w.rank });
  }
  return new Map([...out].map(([host, { owner }]) => [host, owner]));
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
    seen.aliasOf === undefined &&
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
  const path = exact ? c.route.path : c.route.path.replace(/\/+$/, '') || '/';
  // Routes with different method/header/query conditions do not conflict (Gateway API HTTPRouteMatch).
  const match = c.route.conditions ? ` ${canonicalJson(c.route.conditions)}` : '';
  return `${c.host} ${exact ? 'Exact' : 'Prefix'} ${path}${match}`;
}

/**
 * Each canary candidate attaches to the winner of its host+path (ingress-nginx: one canary per rule, the
 * oldest here); it never takes the path itself, so a canary Ingress cannot steal production traffic.
 */
function attachCanaries(ctx: BuildContext, winners: RouteCandidate[]): Map<RouteCandidate, RouteCandidate> {
  const mains = new Map(winners.filter((w) => !w.fallback).map((w) => [matchKey(w), w]));
  const attached = new Map<RouteCandidate, RouteCandidate>();
  const sorted = ctx.routes
    .filter((c) => c.canary)
    .sort((a, b) => compareRank(a.rank, b.rank) || compareStrings(a.route.id, b.route.id));
  for (const c of sorted) {
    const main = mains.get(matchKey(c));
    let message: string | undefined;
    if (!main) {
      message = `canary path ${c.route.path} on host ${c.host} has no main Ingress path to attach to; it serves nothing`;
    } else if (attached.has(main)) {
      message = `${main.route.id} already has the canary ${attached.get(main)!.route.id}; one canary per path, as in ingress-nginx`;
    }
    if (message || !main) {
      ctx.report(c.owner, {
        severity: 'Warning',
        reason: 'CanaryNotAttached',
        message: message!,
        field: c.field,
      });
      continue;
    }
    attached.set(main, c);
  }
  return attached;
}

function withCanary(route: Route, canary: RouteCandidate, backend: string): Route {
  return { ...route, canary: { ...canary.canary!, backend, source: { ...canary.route.source } } };
}

// ingress-nginx: once one path of a host is a regex, every non-Exact path of the host matches as one
// (case-insensitive, from the start); literal paths of other Ingresses are escaped so `.` stays a dot.
function regexHost(routes: Route[]): Route[] {
  if (!routes.some((r) => r.match)) return routes;
  return routes.map((r) =>
    r.match || r.pathType === 'Exact' ? r : { ...r, match: { kind: 'Regex', pattern: escapeRegex(r.path) } },
  );
}

// from-to-www-redirect: `www.a` for a rule on `a`, and `a` for a rule on `www.a`, unless something serves it.
function wwwTwins(winners: RouteCandidate[], served: ReadonlyMap<string, unknown>): Map<string, string> {
  const twins = new Map<string, string>();
  for (const c of winners) {
    if (!c.wwwRedirect || c.host === '*' || c.host.startsWith('*.')) continue;
    const twin = c.host.startsWith('www.') ? c.host.slice(4) : `www.${c.host}`;
    if (!served.has(twin) && !twins.has(twin) && twin.includes('.')) twins.set(twin, c.host);
  }
  return twins;
}

function settleConflicts(ctx: BuildContext, candidates: RouteCandidate[]): RouteCandidate[] {
  const groups = new Map<string, RouteCandidate[]>();
  for (const c of candidates) {
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

/** One claim per host: the oldest claim with a usable certificate, else the oldest claim. */
function settleTls(ctx: BuildContext, claims: readonly TlsClaim[]): Map<string, TlsClaim> {
  const byHost = new Map<string, TlsClaim[]>();
  for (const claim of claims) {
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
