/**
 * The snapshot: the immutable, versioned configuration the controller builds and the dataplane serves.
 * It is the only thing `src/dataplane` and `src/controller` share. Every field is plain data (JSON-safe),
 * so a snapshot can be hashed, diffed, written to a golden file and compared in tests.
 */

/** How a backend picks an endpoint for a request that carries no valid affinity cookie. */
export type BalancePolicy = 'round-robin' | 'least-conn' | 'random-two';

/** Ingress v1 path types. ImplementationSpecific is served with Prefix semantics. */
export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** The Kubernetes object a route or backend came from; used for metrics labels, logs and `explain`. */
export interface SourceRef {
  kind: 'Ingress' | 'StickyRoute';
  namespace: string;
  name: string;
}

/**
 * One upstream address. `id` is its identity across snapshots, always inside the Service's namespace:
 * `ns/pod:port` for a Pod of that namespace, else `ns/[address]:port`, so no two namespaces share endpoint state.
 */
export interface Endpoint {
  /** Stable identity, e.g. `default/chat-7d9f-abcde:3000` or `default/[10.0.0.7]:3000`. Pools and affinity key on it. */
  id: string;
  /** IPv4 or IPv6 literal (no brackets). */
  address: string;
  port: number;
  /** Relative weight for round-robin (1..256). */
  weight: number;
  /** EndpointSlice conditions. A terminating endpoint gets no new sessions. */
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

/** Cookie affinity: which cookie pins a client to an endpoint, and what happens when that endpoint goes. */
export interface AffinityPolicy {
  cookie: {
    name: string;
    /** Cookie Path attribute; the builder resolves ingress-nginx's default (the rule's path). */
    path: string;
    domain?: string;
    /** Max-Age in whole seconds; absent with `expiresSeconds` absent means a session cookie. */
    maxAgeSeconds?: number;
    /** Expires, as seconds from the time the cookie is issued. */
    expiresSeconds?: number;
    sameSite?: 'Strict' | 'Lax' | 'None';
    /** `auto`: Secure when the request came over HTTPS; `always`: always Secure. SameSite=None forces Secure. */
    secure: 'auto' | 'always';
    httpOnly: boolean;
  };
  /** balanced: re-pick when the pinned endpoint is gone or unhealthy; persistent: keep it while it exists. */
  mode: 'balanced' | 'persistent';
  /** Re-pick (and re-issue the cookie) when the pinned endpoint fails to connect. */
  changeOnFailure: boolean;
}

/** Active health checking of each endpoint (HTTP GET, 2xx/3xx is healthy). */
export interface ActiveHealthCheck {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/** Passive health: `failures` consecutive connect failures eject an endpoint for `cooldownMs`. */
export interface PassiveHealthCheck {
  failures: number;
  cooldownMs: number;
}

export interface Timeouts {
  /** TCP connect to an endpoint. */
  connectMs: number;
  /** Time to the response headers and between body chunks from the backend. */
  readMs: number;
  /** An open WebSocket tunnel with no traffic either way is closed after this long. */
  tunnelIdleMs: number;
}

/** A pool of endpoints with its policies. Several routes may share one backend. */
export interface Backend {
  /** Unique in the snapshot. Routes refer to it. */
  id: string;
  /** The Service (namespace/name and port) it stands for; the affinity cookie hashes this, never an address. */
  service: { namespace: string; name: string; port: string };
  source: SourceRef;
  /** Sorted by id. May be empty: requests then get 503. */
  endpoints: Endpoint[];
  balance: BalancePolicy;
  affinity?: AffinityPolicy;
  timeouts: Timeouts;
  /** How many more endpoints to try after a connect failure, before anything was sent (HAProxy redispatch). */
  retries: number;
  health: { passive: PassiveHealthCheck; active?: ActiveHealthCheck };
  /** How the dataplane speaks to the endpoints; absent means plain HTTP/1.1. */
  upstream?: UpstreamProtocol;
}

/**
 * TLS towards the endpoints (ingress-nginx `backend-protocol: HTTPS`). Without `verify` the certificate is not
 * checked, as ingress-nginx's default; with it, `ca` (PEM) must sign the chain and `serverName` must match.
 */
export interface UpstreamProtocol {
  protocol: 'HTTPS';
  verify: boolean;
  /** PEM CA bundle from `proxy-ssl-secret` (its `ca.crt`). */
  ca?: string;
  /** Name checked against the certificate and sent as SNI; absent means the Service's cluster DNS name. */
  serverName: string;
  /** Send `serverName` as SNI (`proxy-ssl-server-name`). */
  sni: boolean;
}

export interface RedirectPolicy {
  /** Redirect HTTP to HTTPS when the route's host has TLS. */
  sslRedirect: boolean;
  /** Redirect HTTP to HTTPS even when the host has no TLS. */
  forceSslRedirect: boolean;
  /** 301, 302, 307 or 308; 308 by default. */
  code: 301 | 302 | 307 | 308;
}

export interface HstsPolicy {
  maxAgeSeconds: number;
  includeSubdomains: boolean;
  preload: boolean;
}

export interface Route {
  /** Unique in the snapshot, stable across rebuilds, e.g. `Ingress/default/chat/0/1`. */
  id: string;
  source: SourceRef;
  path: string;
  pathType: PathType;
  backend: string;
  redirect: RedirectPolicy;
  hsts?: HstsPolicy;
  /** Source-address access control; absent means every client may use the route. */
  access?: AccessPolicy;
  /** How the path matches; absent means by `pathType`. `Regex` is ingress-nginx `use-regex` (see RouteMatch). */
  match?: RouteMatch;
  /** Rewrite of the request path before it is proxied (`rewrite-target`), with `$1`..`$9` from `match`. */
  rewrite?: string;
  /** `X-Forwarded-Prefix` value sent to the backend (`x-forwarded-prefix`). */
  forwardedPrefix?: string;
  /** A local redirect answer instead of proxying (`app-root`, `permanent-redirect`, `temporal-redirect`). */
  answer?: RouteRedirect;
  /** Largest request body in bytes (`proxy-body-size`); absent means unlimited. Above it: 413. */
  maxBodyBytes?: number;
  cors?: CorsPolicy;
  /** A second backend that takes some requests (`canary: "true"` Ingress on the same host and path). */
  canary?: Canary;
  /** Per-client-address limits (`limit-*`); above them: 503. */
  limits?: RateLimits;
}

/**
 * `Regex`: ingress-nginx regex location: `pattern` is matched case-insensitively from the start of the path
 * (not to its end) by a linear-time matcher (src/snapshot/regex.ts); capture groups feed `rewrite`.
 */
export interface RouteMatch {
  kind: 'Regex';
  pattern: string;
}

/**
 * A redirect answered at the edge. `app-root`: only the path `/` is redirected, to `location` (a path).
 * `always`: every request on the route (permanent/temporal redirect), `location` is an absolute URL or a path.
 */
export interface RouteRedirect {
  when: 'app-root' | 'always';
  location: string;
  code: 301 | 302 | 303 | 307 | 308;
}

/** CORS as ingress-nginx `enable-cors` serves it: preflight answered 204 at the edge, headers on responses. */
export interface CorsPolicy {
  /** `*`, or origins (`https://a.example.com`, `https://*.example.com`); a request Origin must match one. */
  allowOrigins: string[];
  allowMethods: string;
  allowHeaders: string;
  exposeHeaders: string;
  allowCredentials: boolean;
  maxAgeSeconds: number;
}

/**
 * Canary (ingress-nginx `canary-*`), in precedence order: header (`always`/`never`, or `headerValue`, or
 * `headerPattern`), cookie (`always`/`never`), then `weight` out of `weightTotal`. `sticky`: a request whose
 * affinity cookie pins it to a canary endpoint stays on the canary (`affinity-canary-behavior: sticky`).
 */
export interface Canary {
  backend: string;
  source: SourceRef;
  weight: number;
  weightTotal: number;
  header?: string;
  headerValue?: string;
  /** Matched like RouteMatch patterns (linear time), against the whole header value. */
  headerPattern?: string;
  cookie?: string;
  sticky: boolean;
}

/**
 * ingress-nginx `limit-*`, per client address: `rps`/`rpm` with bursts of `burstMultiplier` times the rate,
 * `connections` concurrent requests. Addresses in `whitelist` (CIDRs) are never limited.
 */
export interface RateLimits {
  rps?: number;
  rpm?: number;
  connections?: number;
  burstMultiplier: number;
  whitelist: string[];
}

/**
 * Who may use a route, by client address (the peer, or the address a trusted proxy or PROXY protocol header
 * gave). CIDR strings, IPv4 or IPv6; a bare address is a /32 or /128. A client in `deny` gets 403; when `allow`
 * is non-empty, a client outside it gets 403 too. Deny wins over allow.
 */
export interface AccessPolicy {
  allow: string[];
  deny: string[];
}

export interface VirtualHost {
  /** `chat.example.com`, `*.example.com` (one label), or `*` for rules without a host. Lower case. */
  hostname: string;
  /** Present when some Ingress lists the host under `tls`; `certificate` absent means the default one. */
  tls?: { certificate?: string };
  /** Sorted by precedence: Exact before Prefix, longer paths first, then by id (regex hosts: see routeOrder). */
  routes: Route[];
  /** Every request to this host is redirected (308) to the same URL on `redirectTo` (`from-to-www-redirect`). */
  redirectTo?: string;
}

/** A PEM certificate chain and key, by id (usually the Secret's namespace/name). */
export interface Certificate {
  id: string;
  certPem: string;
  keyPem: string;
}

export interface Snapshot {
  /** Increases with every distinct snapshot the producer emits. */
  version: number;
  /** Content hash over everything but `version`; equal hashes mean equal configuration. */
  hash: string;
  /** Sorted by hostname. */
  hosts: VirtualHost[];
  /** Sorted by id. */
  backends: Backend[];
  /** Sorted by id. */
  certificates: Certificate[];
  /** Certificate for SNI names no host claims; absent means the dataplane's generated self-signed one. */
  defaultCertificate?: string;
}
