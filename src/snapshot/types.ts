/**
 * The snapshot: the immutable, versioned configuration the controller builds and the dataplane serves.
 * It is the only thing `src/dataplane` and `src/controller` share. Every field is plain data (JSON-safe),
 * so a snapshot can be hashed, diffed, written to a golden file and compared in tests.
 */

/**
 * Every snapshot type is readonly all the way down: the compiler enforces what the runtime freeze promises.
 * `Draft<T>` is a writable top level of T, for the producer (the builder) while it assembles a value.
 */
export type Draft<T> = { -readonly [K in keyof T]: T[K] };

/** How a backend picks an endpoint for a request that carries no valid affinity cookie. */
export type BalancePolicy = 'round-robin' | 'least-conn' | 'random-two';

/** Ingress v1 path types. ImplementationSpecific is served with Prefix semantics. */
export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** The Kubernetes object a route or backend came from; used for metrics labels, logs and `explain`. */
export interface SourceRef {
  readonly kind: 'Ingress' | 'StickyRoute' | 'HTTPRoute';
  readonly namespace: string;
  readonly name: string;
}

/**
 * One upstream address. `id` is its identity across snapshots, always inside the Service's namespace:
 * `ns/pod:port` for a Pod of that namespace, else `ns/[address]:port`, so no two namespaces share endpoint state.
 */
export interface Endpoint {
  /** Stable identity, e.g. `default/chat-7d9f-abcde:3000` or `default/[10.0.0.7]:3000`. Pools and affinity key on it. */
  readonly id: string;
  /** IPv4 or IPv6 literal (no brackets). */
  readonly address: string;
  readonly port: number;
  /** Relative weight for round-robin (1..256). */
  readonly weight: number;
  /** EndpointSlice conditions. A terminating endpoint gets no new sessions. */
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

/** Cookie affinity: which cookie pins a client to an endpoint, and what happens when that endpoint goes. */
export interface AffinityPolicy {
  readonly cookie: {
    readonly name: string;
    /** Cookie Path attribute; the builder resolves ingress-nginx's default (the rule's path). */
    readonly path: string;
    readonly domain?: string;
    /** Max-Age in whole seconds; absent with `expiresSeconds` absent means a session cookie. */
    readonly maxAgeSeconds?: number;
    /** Expires, as seconds from the time the cookie is issued. */
    readonly expiresSeconds?: number;
    readonly sameSite?: 'Strict' | 'Lax' | 'None';
    /** `auto`: Secure when the request came over HTTPS; `always`: always Secure. SameSite=None forces Secure. */
    readonly secure: 'auto' | 'always';
    readonly httpOnly: boolean;
  };
  /** balanced: re-pick when the pinned endpoint is gone or unhealthy; persistent: keep it while it exists. */
  readonly mode: 'balanced' | 'persistent';
  /** Re-pick (and re-issue the cookie) when the pinned endpoint fails to connect. */
  readonly changeOnFailure: boolean;
}

/** Active health checking of each endpoint (HTTP GET, 2xx/3xx is healthy). */
export interface ActiveHealthCheck {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

/** Passive health: `failures` consecutive connect failures eject an endpoint for `cooldownMs`. */
export interface PassiveHealthCheck {
  readonly failures: number;
  readonly cooldownMs: number;
}

export interface Timeouts {
  /** TCP connect to an endpoint. */
  readonly connectMs: number;
  /** Time to the response headers and between body chunks from the backend. */
  readonly readMs: number;
  /** An open WebSocket tunnel with no traffic either way is closed after this long. */
  readonly tunnelIdleMs: number;
}

/** A pool of endpoints with its policies. Several routes may share one backend. */
export interface Backend {
  /** Unique in the snapshot. Routes refer to it. */
  readonly id: string;
  /** The Service (namespace/name and port) it stands for; the affinity cookie hashes this, never an address. */
  readonly service: { namespace: string; name: string; port: string };
  readonly source: SourceRef;
  /** Sorted by id. May be empty: requests then get 503. */
  readonly endpoints: readonly Endpoint[];
  readonly balance: BalancePolicy;
  readonly affinity?: AffinityPolicy;
  readonly timeouts: Timeouts;
  /** How many more endpoints to try after a connect failure, before anything was sent (HAProxy redispatch). */
  readonly retries: number;
  readonly health: { readonly passive: PassiveHealthCheck; readonly active?: ActiveHealthCheck };
}

export interface RedirectPolicy {
  /** Redirect HTTP to HTTPS when the route's host has TLS. */
  readonly sslRedirect: boolean;
  /** Redirect HTTP to HTTPS even when the host has no TLS. */
  readonly forceSslRedirect: boolean;
  /** 301, 302, 307 or 308; 308 by default. */
  readonly code: 301 | 302 | 307 | 308;
}

export interface HstsPolicy {
  readonly maxAgeSeconds: number;
  readonly includeSubdomains: boolean;
  readonly preload: boolean;
}

export interface Route {
  /** Unique in the snapshot, stable across rebuilds, e.g. `Ingress/default/chat/0/1`. */
  readonly id: string;
  readonly source: SourceRef;
  readonly path: string;
  readonly pathType: PathType;
  readonly backend: string;
  readonly redirect: RedirectPolicy;
  readonly hsts?: HstsPolicy;
  /** Source-address access control; absent means every client may use the route. */
  readonly access?: AccessPolicy;
  /**
   * Only this listener serves the route (Gateway API: a route attached through HTTP listeners only is not
   * served on HTTPS, and the reverse); absent means both, as for Ingress.
   */
  readonly listener?: 'http' | 'https';
  /** Conditions beyond host and path (method, headers, query); absent means none. */
  readonly match?: RequestMatch;
  /**
   * A weighted split (Gateway API backendRefs): when present, each request picks one entry by weight and
   * `backend` is the first entry with a backend. An entry without `backend` is a reference that did not
   * resolve: its share of requests gets 500 (Gateway API HTTPBackendRef). All weights 0 means 500 for all.
   */
  readonly split?: readonly WeightedBackend[];
  /** Request and response changes (Gateway API HTTPRoute filters); absent means none. */
  readonly filters?: RouteFilters;
}

/** Further conditions a request must meet for a route to match; every listed one must hold. */
export interface RequestMatch {
  /** Upper-case HTTP method. */
  readonly method?: string;
  /** Exact, case-sensitive value of a header; names lower case. Repeated headers are compared joined by ','. */
  readonly headers?: readonly NameValue[];
  /** Exact value of the first query parameter of that (case-sensitive) name. */
  readonly query?: readonly NameValue[];
}

export interface NameValue {
  readonly name: string;
  readonly value: string;
}

/** One entry of a weighted split; `backend` absent: an unresolved reference (500). */
export interface WeightedBackend {
  readonly backend?: string;
  readonly weight: number;
}

/** Header edits in the order set, add, remove (Gateway API HTTPHeaderFilter); names lower case. */
export interface HeaderEdits {
  readonly set: readonly NameValue[];
  readonly add: readonly NameValue[];
  readonly remove: readonly string[];
}

/** How a matched path is rewritten: the whole path, or the matched prefix replaced. */
export type PathRewrite =
  | { readonly type: 'full'; readonly value: string }
  | { readonly type: 'prefix'; readonly value: string };

/** A redirect answer instead of proxying; an absent field keeps the request's own value. */
export interface RedirectFilter {
  readonly scheme?: 'http' | 'https';
  readonly hostname?: string;
  /** Absent: the scheme's well-known port when `scheme` is set, else the port the client used. */
  readonly port?: number;
  readonly path?: PathRewrite;
  readonly statusCode: 301 | 302 | 303 | 307 | 308;
}

export interface RouteFilters {
  readonly request?: HeaderEdits;
  readonly response?: HeaderEdits;
  /** Rewrite before proxying: the path, and the Host sent upstream. */
  readonly rewrite?: { readonly path?: PathRewrite; readonly hostname?: string };
  readonly redirect?: RedirectFilter;
}

/**
 * Who may use a route, by client address (the peer, or the address a trusted proxy or PROXY protocol header
 * gave). CIDR strings, IPv4 or IPv6; a bare address is a /32 or /128. A client in `deny` gets 403; when `allow`
 * is non-empty, a client outside it gets 403 too. Deny wins over allow.
 */
export interface AccessPolicy {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

export interface VirtualHost {
  /** `chat.example.com`, `*.example.com` (one label), or `*` for rules without a host. Lower case. */
  readonly hostname: string;
  /** Present when some Ingress lists the host under `tls`; `certificate` absent means the default one. */
  readonly tls?: { readonly certificate?: string };
  /** Sorted by precedence: Exact before Prefix, longer paths first, then by id. */
  readonly routes: readonly Route[];
}

/** A PEM certificate chain and key, by id (usually the Secret's namespace/name). */
export interface Certificate {
  readonly id: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface Snapshot {
  /** Increases with every distinct snapshot the producer emits. */
  readonly version: number;
  /** Content hash over everything but `version`; equal hashes mean equal configuration. */
  readonly hash: string;
  /** Sorted by hostname. */
  readonly hosts: readonly VirtualHost[];
  /** Sorted by id. */
  readonly backends: readonly Backend[];
  /** Sorted by id. */
  readonly certificates: readonly Certificate[];
  /** Certificate for SNI names no host claims; absent means the dataplane's generated self-signed one. */
  readonly defaultCertificate?: string;
}
