import type { Draft, NameValue, RequestMatch, Route } from '../../snapshot/types.ts';
import { parseIngressAnnotations } from '../annotations/index.ts';
import type { BuildContext } from '../build/context.ts';
import { normalizeHost } from '../build/hostname.ts';
import { asArray, isRecord, type ObjectRef, type Rank, sourceRef, str } from '../build/meta.ts';
import { type BackendPolicy, ingressPolicy, REDIRECT_CODE } from '../build/policy.ts';
import type { ClusterView } from '../view.ts';
import { type ResolvedRef, resolveBackendRefs } from './backends.ts';
import { parseFilters } from './filters.ts';
import { intersectHosts, isolateHosts } from './hostnames.ts';
import { type GatewayTable, type Listener, namespaceAllowed } from './listeners.ts';
import { GATEWAY_GROUP } from './reference-grant.ts';
import { sessionAffinity } from './session-persistence.ts';
import { cond, type GatewayApiStatus, type GatewayCondition, type RouteParentStatus } from './status.ts';

/** Processor: every HTTPRoute attached to one of our Gateways becomes route candidates, TLS claims and a status. */
export function processHttpRoutes(
  ctx: BuildContext,
  view: ClusterView,
  table: GatewayTable,
  controller: string,
): GatewayApiStatus[] {
  const out: GatewayApiStatus[] = [];
  for (const { obj, ref, rank } of ctx.cache.sorted('HTTPRoute', view.httpRoutes)) {
    if (!ref.name) continue;
    const status = processRoute(ctx, view, table, controller, obj, ref, rank);
    if (status) out.push(status);
  }
  return out;
}

interface Attachment {
  parent: RouteParentStatus;
  hosts: Map<string, Listener[]>;
}

function processRoute(
  ctx: BuildContext,
  view: ClusterView,
  table: GatewayTable,
  controller: string,
  obj: unknown,
  ref: ObjectRef,
  rank: Rank,
): GatewayApiStatus | undefined {
  const spec = isRecord(obj) && isRecord(obj.spec) ? obj.spec : {};
  const g = ref.generation;
  const hostnames = asArray<unknown>(spec.hostnames)
    .map((h) => normalizeHost(h))
    .filter((h): h is string => h !== undefined && h !== '*');
  const attachments: Attachment[] = [];
  for (const p of asArray<unknown>(spec.parentRefs)) {
    const a = attach(view, table, controller, ref, p, hostnames);
    if (a) attachments.push(a);
  }
  if (attachments.length === 0) return undefined; // no parent of ours: another controller's route
  const hosts = new Map<string, Listener[]>();
  for (const a of attachments) for (const [h, ls] of a.hosts) hosts.set(h, [...(hosts.get(h) ?? []), ...ls]);
  const { refProblems, ruleProblems } = addRules(ctx, view, ref, rank, spec, hosts);
  const refsCond: GatewayCondition =
    refProblems.length > 0
      ? cond('ResolvedRefs', false, refProblems[0]!.reason, refProblems.map((p) => p.message).join('; '), g)
      : cond('ResolvedRefs', true, 'ResolvedRefs', 'all references resolved', g);
  for (const a of attachments) {
    const accepted = a.parent.conditions[0]!;
    if (accepted.status === 'True' && ruleProblems.length > 0)
      a.parent.conditions[0] = cond('Accepted', false, 'UnsupportedValue', ruleProblems.join('; '), g);
    a.parent.conditions.push(refsCond);
  }
  const status: GatewayApiStatus = { kind: 'HTTPRoute', namespace: ref.namespace, name: ref.name };
  if (g !== undefined) status.generation = g;
  status.parents = attachments.map((a) => a.parent);
  return status;
}

/** One parentRef: which listeners of which of our Gateways accept the route, and for which hosts. */
function attach(
  view: ClusterView,
  table: GatewayTable,
  controller: string,
  route: ObjectRef,
  raw: unknown,
  hostnames: string[],
): Attachment | undefined {
  const p = isRecord(raw) ? raw : {};
  if ((p.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (p.kind ?? 'Gateway') !== 'Gateway') return undefined;
  const namespace = str(p.namespace) ?? route.namespace;
  const gw = table.gateways.get(`${namespace}/${String(p.name)}`);
  if (!gw) return undefined;
  const parentRef: RouteParentStatus['parentRef'] = {
    group: GATEWAY_GROUP,
    kind: 'Gateway',
    namespace,
    name: gw.ref.name,
  };
  const section = str(p.sectionName);
  if (section) parentRef.sectionName = section;
  if (typeof p.port === 'number') parentRef.port = p.port;
  const g = route.generation;
  const parent: RouteParentStatus = { parentRef, controllerName: controller, conditions: [] };
  const named = gw.listeners.filter(
    (l) => (!section || l.name === section) && (parentRef.port === undefined || l.port === parentRef.port),
  );
  const allowed = named.filter((l) => l.attachable && namespaceAllowed(view, l, route.namespace));
  const hosts = new Map<string, Listener[]>();
  let matched = 0;
  for (const l of allowed) {
    const hs = intersectHosts(l.hostname, hostnames);
    if (hs.length === 0) continue;
    const siblings = gw.listeners.filter(
      (o) => o !== l && o.attachable && o.port === l.port && o.protocol === l.protocol,
    );
    const served = isolateHosts(
      l.hostname,
      siblings.map((o) => o.hostname),
      hs,
    );
    // Attached (and counted) even when the listener is not programmed, e.g. its certificate does not
    // resolve; only a programmed listener's routes are served.
    matched++;
    l.attachedRoutes += 1;
    if (l.usable) for (const h of served) hosts.set(h, [...(hosts.get(h) ?? []), l]);
  }
  const accepted =
    named.length === 0
      ? cond(
          'Accepted',
          false,
          'NoMatchingParent',
          `Gateway ${namespace}/${gw.ref.name} has no such listener`,
          g,
        )
      : allowed.length === 0
        ? cond('Accepted', false, 'NotAllowedByListeners', 'no listener allows routes from this namespace', g)
        : matched === 0
          ? cond(
              'Accepted',
              false,
              'NoMatchingListenerHostname',
              'no listener hostname matches the route hostnames',
              g,
            )
          : cond('Accepted', true, 'Accepted', 'route attached', g);
  parent.conditions.push(accepted);
  return { parent, hosts };
}

function addRules(
  ctx: BuildContext,
  view: ClusterView,
  ref: ObjectRef,
  rank: Rank,
  spec: Record<string, unknown>,
  hosts: Map<string, Listener[]>,
): { refProblems: NonNullable<ResolvedRef['problem']>[]; ruleProblems: string[] } {
  const refProblems: NonNullable<ResolvedRef['problem']>[] = [];
  const ruleProblems: string[] = [];
  const base = parseIngressAnnotations({}).config;
  asArray<unknown>(spec.rules).forEach((raw, r) => {
    const rule = isRecord(raw) ? raw : {};
    const field = `spec.rules[${r}]`;
    const problem = (message: string) => {
      ruleProblems.push(`${field}: ${message}`);
      ctx.report(ref, {
        severity: 'Error',
        reason: 'UnsupportedValue',
        message: `${message}; rule not served`,
        field,
      });
    };
    const { filters, problems } = parseFilters(rule.filters);
    if (problems.length > 0) {
      for (const p of problems) problem(p);
      return;
    }
    // No upstream TLS from an HTTPRoute (BackendTLSPolicy is not served), so the Service named here is unused.
    const policy: Draft<BackendPolicy> = {
      ...ingressPolicy(base, '/', { namespace: ref.namespace, name: '' }),
    };
    if (rule.sessionPersistence !== undefined) {
      const mapped = sessionAffinity(rule.sessionPersistence, `${ref.namespace}/${ref.name}/${r}`);
      for (const p of mapped.problems) {
        const message = `${p.message}`;
        ctx.report(ref, {
          severity: 'Warning',
          reason: 'UnsupportedValue',
          message,
          field: `${field}.sessionPersistence${p.field ? `.${p.field}` : ''}`,
        });
      }
      if (mapped.affinity) policy.affinity = mapped.affinity;
    }
    const refs = resolveBackendRefs(ctx, view, ref, rule.backendRefs, policy);
    for (const x of refs)
      if (x.problem) {
        refProblems.push(x.problem);
        ctx.report(ref, {
          severity: 'Error',
          reason: x.problem.reason,
          message: `${x.problem.message}; its share gets 500`,
          field: `${field}.backendRefs`,
        });
      }
    // No usable backend at all: every request of the rule gets 500 (Gateway API), via a split without one.
    const first = refs.find((x) => x.backend)?.backend;
    const matches = asArray<unknown>(rule.matches);
    (matches.length > 0 ? matches : [{}]).forEach((m, i) => {
      const parsed = matchOf(m);
      if (typeof parsed === 'string') {
        problem(`matches[${i}]: ${parsed}`);
        return;
      }
      if (filters?.rewrite?.path?.type === 'prefix' || filters?.redirect?.path?.type === 'prefix')
        if (parsed.pathType !== 'Prefix') {
          problem(`matches[${i}]: ReplacePrefixMatch needs a PathPrefix match`);
          return;
        }
      for (const [host, listeners] of hosts) {
        const route: Draft<Omit<Route, 'backend'>> = {
          id: `HTTPRoute/${ref.namespace}/${ref.name}/${r}/${i}@${host}`,
          source: sourceRef(ref),
          path: parsed.path,
          pathType: parsed.pathType,
          redirect: { sslRedirect: false, forceSslRedirect: false, code: REDIRECT_CODE },
        };
        if (parsed.match) route.conditions = parsed.match;
        // Gateway API: `*.example.com` matches any number of labels, unlike Ingress's one (HTTPRoute hostnames).
        if (host.startsWith('*.')) route.wildcardAnyLabels = true;
        const protocols = new Set(listeners.map((l) => l.protocol));
        if (protocols.size === 1) route.listener = protocols.has('HTTPS') ? 'https' : 'http';
        if (filters) route.filters = filters;
        const backend = first ?? {
          service: { namespace: ref.namespace, name: '', port: '' },
          endpoints: [],
          policy,
        };
        const split =
          refs.length === 1 && first
            ? undefined
            : refs.map((x) => (x.backend ? { backend: x.backend, weight: x.weight } : { weight: x.weight }));
        ctx.addRoute({
          host,
          route,
          backend,
          owner: ref,
          rank,
          fallback: false,
          field: `${field}.matches[${i}]`,
          ...(split ? { split } : {}),
        });
        for (const l of listeners) {
          if (l.protocol === 'HTTPS' && l.certificate)
            ctx.addTls({
              host,
              certificate: l.certificate,
              owner: l.gateway,
              rank,
              field: `listener ${l.name}`,
            });
        }
      }
    });
  });
  return { refProblems, ruleProblems };
}

/** One HTTPRouteMatch -> path, path type and the further conditions; a string when it cannot be served. */
function matchOf(
  raw: unknown,
): { path: string; pathType: 'Exact' | 'Prefix'; match?: RequestMatch } | string {
  const m = isRecord(raw) ? raw : {};
  const p = isRecord(m.path) ? m.path : {};
  const type = p.type ?? 'PathPrefix';
  const value = typeof p.value === 'string' ? p.value : '/';
  // RegularExpression is Implementation-specific; not served until a linear-time engine is in the dataplane.
  if (type !== 'Exact' && type !== 'PathPrefix') return `path type ${String(type)} is not supported`;
  if (!/^\/[^\s?#]*$/.test(value)) return `path ${JSON.stringify(value)} is invalid`;
  const match: Draft<RequestMatch> = {};
  if (typeof m.method === 'string') match.method = m.method.toUpperCase();
  const headers = pairs(m.headers, true);
  if (typeof headers === 'string') return headers;
  if (headers.length > 0) match.headers = headers;
  const query = pairs(m.queryParams, false);
  if (typeof query === 'string') return query;
  if (query.length > 0) match.query = query;
  const out: { path: string; pathType: 'Exact' | 'Prefix'; match?: RequestMatch } = {
    path: value,
    pathType: type === 'Exact' ? 'Exact' : 'Prefix',
  };
  if (Object.keys(match).length > 0) out.match = match;
  return out;
}

function pairs(raw: unknown, lower: boolean): NameValue[] | string {
  const out: NameValue[] = [];
  const seen = new Set<string>();
  for (const h of asArray<unknown>(raw)) {
    if (!isRecord(h) || !str(h.name) || typeof h.value !== 'string') continue;
    if ((h.type ?? 'Exact') !== 'Exact') return `match type ${String(h.type)} is not supported`;
    const name = lower ? (h.name as string).toLowerCase() : (h.name as string);
    // Gateway API: when a name repeats, the first entry wins and the others are ignored.
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ name, value: h.value });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
