import {
  type AccessPolicy,
  type AffinityPolicy,
  type Backend,
  type BalancePolicy,
  type Certificate,
  finalizeSnapshot,
  type HashPart,
  type HstsPolicy,
  type PathType,
  type RedirectPolicy,
  type Snapshot,
  type Timeouts,
} from '../../../src/snapshot/index.ts';

/** A route in shorthand: defaults to Prefix, no redirect. */
export interface RouteSpec {
  path?: string;
  pathType?: PathType;
  backend: string;
  redirect?: Partial<RedirectPolicy>;
  hsts?: HstsPolicy;
  access?: AccessPolicy;
  /** Route.wildcardAnyLabels: Gateway API wildcard semantics under a `*.` host. */
  anyLabels?: boolean;
}

export interface HostSpec {
  hostname: string;
  /** Certificate id; `true` = TLS with the default certificate. */
  tls?: string | true;
  routes: RouteSpec[];
  /** SSL passthrough to this backend id. */
  passthrough?: string;
}

/** One endpoint in shorthand; conditions default to ready, serving, not terminating. */
export interface EndpointSpec {
  port: number;
  address?: string;
  id?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  weight?: number;
}

export interface BackendSpec {
  id: string;
  /** Ports on 127.0.0.1 (or full endpoint specs). */
  endpoints: (number | EndpointSpec)[];
  balance?: BalancePolicy;
  /** Sets balance `hash` with this key. */
  hashBy?: HashPart[];
  affinity?: Partial<AffinityPolicy> & { cookie?: Partial<AffinityPolicy['cookie']> };
  retries?: number;
  timeouts?: Partial<Timeouts>;
  service?: Backend['service'];
  /** PROXY protocol header on relays and tunnels to the endpoints. */
  proxyProtocol?: 1 | 2;
  /** TLS to the endpoints. */
  tls?: Backend['tls'];
}

export interface SnapshotSpec {
  hosts: HostSpec[];
  backends: BackendSpec[];
  certificates?: Certificate[];
  defaultCertificate?: string;
}

/** Default test timeouts: short enough that a broken test fails fast, long enough for a loaded CI box. */
export const TEST_TIMEOUTS: Timeouts = { connectMs: 2_000, readMs: 10_000, tunnelIdleMs: 60_000 };

/** An affinity policy with the cookie `route`, session cookie, balanced mode, changeOnFailure on. */
export function affinity(overrides: BackendSpec['affinity'] = {}): AffinityPolicy {
  return {
    mode: overrides.mode ?? 'balanced',
    changeOnFailure: overrides.changeOnFailure ?? true,
    cookie: { name: 'route', path: '/', secure: 'auto', httpOnly: true, ...overrides.cookie },
    ...(overrides.socketio ? { socketio: true } : {}),
  };
}

/** Builds and finalizes a snapshot from shorthand specs; endpoints default to 127.0.0.1:<port>. */
export function buildSnapshot(spec: SnapshotSpec, version = 1): Snapshot {
  let n = 0;
  const backends: Backend[] = spec.backends.map((b) => ({
    id: b.id,
    service: b.service ?? { namespace: 'default', name: b.id, port: 'http' },
    source: { kind: 'Ingress', namespace: 'default', name: b.id },
    endpoints: b.endpoints
      .map((e) => (typeof e === 'number' ? { port: e } : e))
      .map((e) => ({
        id: e.id ?? `${e.address ?? '127.0.0.1'}:${e.port}`,
        address: e.address ?? '127.0.0.1',
        port: e.port,
        weight: e.weight ?? 1,
        ready: e.ready ?? true,
        serving: e.serving ?? e.ready ?? true,
        terminating: e.terminating ?? false,
      }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    balance: b.hashBy ? ('hash' as const) : (b.balance ?? 'round-robin'),
    ...(b.hashBy ? { hashBy: b.hashBy } : {}),
    ...(b.affinity ? { affinity: affinity(b.affinity) } : {}),
    timeouts: { ...TEST_TIMEOUTS, ...b.timeouts },
    retries: b.retries ?? 1,
    health: { passive: { failures: 3, cooldownMs: 10_000 } },
    ...(b.proxyProtocol ? { proxyProtocol: b.proxyProtocol } : {}),
    ...(b.tls ? { tls: b.tls } : {}),
  }));
  const hosts = spec.hosts.map((h) => ({
    hostname: h.hostname,
    ...(h.tls === undefined ? {} : { tls: h.tls === true ? {} : { certificate: h.tls } }),
    ...(h.passthrough === undefined ? {} : { passthrough: { backend: h.passthrough } }),
    routes: h.routes.map((r) => ({
      id: `Ingress/default/${h.hostname}/${n++}`,
      source: { kind: 'Ingress' as const, namespace: 'default', name: `ing-${h.hostname}` },
      path: r.path ?? '/',
      pathType: r.pathType ?? 'Prefix',
      backend: r.backend,
      redirect: { sslRedirect: true, forceSslRedirect: false, code: 308 as const, ...r.redirect },
      ...(r.hsts ? { hsts: r.hsts } : {}),
      ...(r.access ? { access: r.access } : {}),
      ...(r.anyLabels ? { wildcardAnyLabels: true as const } : {}),
    })),
  }));
  return finalizeSnapshot(
    {
      hosts: hosts.sort((a, b) => (a.hostname < b.hostname ? -1 : 1)),
      backends: backends.sort((a, b) => (a.id < b.id ? -1 : 1)),
      certificates: [...(spec.certificates ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1)),
      ...(spec.defaultCertificate ? { defaultCertificate: spec.defaultCertificate } : {}),
    },
    version,
  );
}
