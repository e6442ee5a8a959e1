import { parseIngressAnnotations } from '../annotations/index.ts';
import { asArray, isRecord, metadataOf, str } from '../build/meta.ts';
import { defaultCookiePath } from '../build/policy.ts';

/**
 * `sticky-ingress convert`: Ingresses -> one Gateway per namespace + one HTTPRoute per Ingress, with the
 * affinity annotations (ours and ingress-nginx's) carried into `sessionPersistence` (the v1.7 shape) and
 * everything that cannot be carried listed per object. Pure: objects in, objects and notes out.
 */

/** Something of an Ingress the Gateway API objects do not carry, or carry differently. */
export interface ConvertNote {
  /** `Ingress ns/name`. */
  object: string;
  field: string;
  message: string;
}

export interface ConvertOptions {
  /** GatewayClass the Gateways name (default `sticky`). */
  gatewayClassName?: string;
  /** Name of the Gateway created in each namespace (default `sticky`). */
  gatewayName?: string;
  /** Services, to turn a named Service port into its number (HTTPRoute backendRefs take numbers only). */
  services?: readonly unknown[];
}

export interface ConvertResult {
  /** Gateways first (by namespace), then HTTPRoutes (by namespace/name). Plain JSON-able objects. */
  objects: Record<string, unknown>[];
  notes: ConvertNote[];
}

const API = 'gateway.networking.k8s.io/v1';

/** Converts `ingresses` (any shape; bad ones become notes). Never throws. */
export function convertIngresses(ingresses: readonly unknown[], options: ConvertOptions = {}): ConvertResult {
  const gatewayName = options.gatewayName ?? 'sticky';
  const notes: ConvertNote[] = [];
  const gateways = new Map<string, { http: boolean; tls: Map<string, string> }>();
  const routes: Record<string, unknown>[] = [];
  for (const ing of ingresses) {
    const meta = metadataOf(ing);
    const namespace = str(meta.namespace) ?? 'default';
    const name = str(meta.name);
    const object = `Ingress ${namespace}/${name ?? '?'}`;
    const note = (field: string, message: string) => notes.push({ object, field, message });
    if (!name || !isRecord(ing) || !isRecord(ing.spec)) {
      note('', 'not an Ingress with metadata.name and spec; skipped');
      continue;
    }
    const gw = gateways.get(namespace) ?? { http: false, tls: new Map<string, string>() };
    gateways.set(namespace, gw);
    const { config, issues } = parseIngressAnnotations(meta.annotations);
    for (const i of issues) note(`metadata.annotations["${i.annotation}"]`, `${i.message}; not carried`);
    notUnsupported(config, note);
    const ports = (service: string, port: string) => namedPort(options.services, namespace, service, port);
    const tlsHosts = new Set<string>();
    asArray<unknown>(ing.spec.tls).forEach((t, i) => {
      if (!isRecord(t)) return;
      const secret = str(t.secretName);
      for (const h of asArray<unknown>(t.hosts)) {
        if (typeof h !== 'string') continue;
        tlsHosts.add(h);
        if (secret) gw.tls.set(h, secret);
        else
          note(
            `spec.tls[${i}]`,
            `host ${h} has no secretName: no HTTPS listener (the default certificate is not carried)`,
          );
      }
    });
    const byHost = new Map<string, Record<string, unknown>[]>();
    asArray<unknown>(ing.spec.rules).forEach((rule, r) => {
      if (!isRecord(rule)) return;
      const host = str(rule.host) ?? '';
      const paths = isRecord(rule.http) ? asArray<unknown>(rule.http.paths) : [];
      paths.forEach((p, i) => {
        const converted = ruleOf(p, config, ports, (f, m) =>
          note(`spec.rules[${r}].http.paths[${i}]${f}`, m),
        );
        if (converted) byHost.set(host, [...(byHost.get(host) ?? []), converted]);
      });
    });
    if (isRecord(ing.spec.defaultBackend)) {
      note(
        'spec.defaultBackend',
        'converted to a `/` rule without hostnames: it no longer loses to other rules',
      );
      const converted = ruleOf(
        { path: '/', pathType: 'Prefix', backend: ing.spec.defaultBackend },
        config,
        ports,
        (f, m) => note(`spec.defaultBackend${f}`, m),
      );
      if (converted) byHost.set('', [...(byHost.get('') ?? []), converted]);
    }
    for (const [host, rules] of byHost) {
      const secure = tlsHosts.has(host) && gw.tls.has(host);
      const suffix = byHost.size > 1 ? `-${host === '' ? 'default' : host.replace(/[^a-z0-9-]/g, '-')}` : '';
      const base = { namespace, name: `${name}${suffix}`, host, gatewayName };
      if (secure) {
        routes.push(httpRoute(base, rules, 'https'));
        if (config.sslRedirect || config.forceSslRedirect) routes.push(redirectRoute(base));
        else routes.push(httpRoute({ ...base, name: `${base.name}-http` }, rules, 'http'));
        gw.http = true;
      } else if (config.forceSslRedirect) {
        note(
          'metadata.annotations',
          `force-ssl-redirect on ${host || 'any host'} without TLS: redirect route written`,
        );
        routes.push(redirectRoute(base));
        gw.http = true;
      } else {
        routes.push(httpRoute(base, rules, 'http'));
        gw.http = true;
        note(
          'spec.rules',
          `host ${host || '(any)'} has no TLS: served over HTTP only (no HTTPS listener without a certificate)`,
        );
      }
    }
  }
  const objects = [...gateways]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([ns, gw]) => gatewayOf(ns, gatewayName, options.gatewayClassName ?? 'sticky', gw));
  return { objects: [...objects, ...routes], notes };
}

function notUnsupported(
  config: ReturnType<typeof parseIngressAnnotations>['config'],
  note: (field: string, message: string) => void,
): void {
  const defaults = parseIngressAnnotations({}).config;
  const a = 'metadata.annotations';
  if (config.balance !== defaults.balance)
    note(a, `load-balance ${config.balance} is not carried (round-robin)`);
  if (JSON.stringify(config.timeouts) !== JSON.stringify(defaults.timeouts))
    note(a, 'timeouts are not carried');
  if (config.retries !== defaults.retries) note(a, 'retries are not carried');
  if (config.activeHealth) note(a, 'active health checks are not carried');
  if (config.access)
    note(a, 'source-range access control is not carried: the converted routes are open to every client');
  const aff = config.affinity;
  if (!aff) return;
  if (aff.mode === 'persistent')
    note(a, 'affinity-mode persistent is not carried: sessions move off unhealthy endpoints');
  if (!aff.changeOnFailure)
    note(a, 'session-cookie-change-on-failure false is not carried: sessions move on connect failure');
  if (aff.cookie.domain) note(a, 'session-cookie-domain is not carried');
  if (aff.cookie.sameSite) note(a, 'session-cookie-samesite is not carried');
  if (aff.cookie.secure === 'always')
    note(a, 'session-cookie-secure is not carried (Secure only over HTTPS)');
  if (!aff.cookie.httpOnly) note(a, 'session-cookie-httponly false is not carried (HttpOnly)');
}

function ruleOf(
  p: unknown,
  config: ReturnType<typeof parseIngressAnnotations>['config'],
  ports: (service: string, port: string) => number | undefined,
  note: (field: string, message: string) => void,
): Record<string, unknown> | undefined {
  if (!isRecord(p)) return undefined;
  const path = typeof p.path === 'string' ? p.path : '/';
  const type = p.pathType === 'Exact' ? 'Exact' : 'PathPrefix';
  if (p.pathType === 'ImplementationSpecific')
    note('.pathType', 'ImplementationSpecific written as PathPrefix (as served)');
  const svc = isRecord(p.backend) && isRecord(p.backend.service) ? p.backend.service : undefined;
  const port = isRecord(svc?.port) ? svc.port : {};
  const name = str(svc?.name);
  const named = name && str(port.name) ? ports(name, port.name as string) : undefined;
  const number = typeof port.number === 'number' ? port.number : named;
  if (named !== undefined && typeof port.number !== 'number')
    note(
      '.backend.service.port',
      `port "${String(port.name)}" written as ${named}: affinity cookies issued before the switch are not recognised`,
    );
  if (!name || number === undefined) {
    note('.backend', 'only Service backends with a known port number can be carried; path skipped');
    return undefined;
  }
  const rule: Record<string, unknown> = {
    matches: [{ path: { type, value: path } }],
    backendRefs: [{ name, port: number }],
  };
  const aff = config.affinity;
  if (aff) {
    const seconds = aff.cookie.maxAgeSeconds ?? aff.cookie.expiresSeconds;
    const cookie: Record<string, unknown> = {
      name: aff.cookie.name,
      // Ingress's default cookie path is the rule's path; Gateway API's is `/`: written out explicitly.
      path: aff.cookie.path ?? defaultCookiePath(path),
      lifetimeType: seconds === undefined ? 'Session' : 'Permanent',
    };
    const sp: Record<string, unknown> = { type: 'Cookie', cookie };
    if (seconds !== undefined) sp.absoluteTimeout = duration(seconds);
    if (aff.cookie.maxAgeSeconds !== undefined && aff.cookie.expiresSeconds !== undefined)
      note('', 'session-cookie-expires and -max-age both set: written as one absoluteTimeout (max-age)');
    rule.sessionPersistence = sp;
  }
  if (config.hsts) {
    const h = config.hsts;
    const value = `max-age=${h.maxAgeSeconds}${h.includeSubdomains ? '; includeSubDomains' : ''}${h.preload ? '; preload' : ''}`;
    rule.filters = [
      {
        type: 'ResponseHeaderModifier',
        responseHeaderModifier: { set: [{ name: 'Strict-Transport-Security', value }] },
      },
    ];
  }
  return rule;
}

// Gateway API Duration (GEP-2257): parts of at most 5 digits, so seconds are written as h/m/s.
function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}

interface RouteBase {
  namespace: string;
  name: string;
  host: string;
  gatewayName: string;
}

function httpRoute(
  b: RouteBase,
  rules: Record<string, unknown>[],
  section: 'http' | 'https',
): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    parentRefs: [{ name: b.gatewayName, sectionName: section === 'http' ? 'http' : listenerName(b.host) }],
    rules,
  };
  if (b.host) spec.hostnames = [b.host];
  return { apiVersion: API, kind: 'HTTPRoute', metadata: { name: b.name, namespace: b.namespace }, spec };
}

// ssl-redirect (ingress-nginx default with TLS) and force-ssl-redirect: 308 as the Ingress path answers.
function redirectRoute(b: RouteBase): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    parentRefs: [{ name: b.gatewayName, sectionName: 'http' }],
    rules: [
      { filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 308 } }] },
    ],
  };
  if (b.host) spec.hostnames = [b.host];
  return {
    apiVersion: API,
    kind: 'HTTPRoute',
    metadata: { name: `${b.name}-redirect`, namespace: b.namespace },
    spec,
  };
}

function listenerName(host: string): string {
  return `https-${host.replace(/^\*/, 'wildcard').replace(/[^a-z0-9-]/g, '-')}`.slice(0, 63);
}

function gatewayOf(
  namespace: string,
  name: string,
  className: string,
  gw: { http: boolean; tls: Map<string, string> },
) {
  const listeners: Record<string, unknown>[] = [];
  if (gw.http || gw.tls.size === 0)
    listeners.push({
      name: 'http',
      protocol: 'HTTP',
      port: 80,
      allowedRoutes: { namespaces: { from: 'Same' } },
    });
  for (const [host, secret] of [...gw.tls].sort(([a], [b]) => (a < b ? -1 : 1))) {
    listeners.push({
      name: listenerName(host),
      protocol: 'HTTPS',
      port: 443,
      hostname: host,
      tls: { mode: 'Terminate', certificateRefs: [{ name: secret }] },
      allowedRoutes: { namespaces: { from: 'Same' } },
    });
  }
  return {
    apiVersion: API,
    kind: 'Gateway',
    metadata: { name, namespace },
    spec: { gatewayClassName: className, listeners },
  };
}

/** The number of the Service port called `port`, from the Services given, or undefined. */
function namedPort(
  services: readonly unknown[] | undefined,
  namespace: string,
  service: string,
  port: string,
): number | undefined {
  const svc = asArray<unknown>(services).find(
    (s) => metadataOf(s).name === service && (str(metadataOf(s).namespace) ?? 'default') === namespace,
  );
  const spec = isRecord(svc) && isRecord(svc.spec) ? svc.spec : {};
  const match = asArray<unknown>(spec.ports).find((p) => isRecord(p) && p.name === port);
  return isRecord(match) && typeof match.port === 'number' ? match.port : undefined;
}
