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

/**
 * How a backend picks an endpoint for a request that carries no valid affinity cookie. `hash`: a consistent
 * hash (Maglev) of the backend's `hashBy` key, so equal keys reach the same endpoint.
 */
export type BalancePolicy = 'round-robin' | 'least-conn' | 'random-two' | 'hash';

/**
 * One piece of a hash key (ingress-nginx `upstream-hash-by`), parsed from its template at build time and never
 * evaluated as text: fixed text, the client address (after PROXY protocol / trusted forwarding), the request
 * target as received, one request header (lower-case name) or one cookie's value.
 */
export type HashPart =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'remote-addr' }
  | { readonly kind: 'request-uri' }
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string };

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
  /**
   * balanced: re-pick when the pinned endpoint is gone, unhealthy or terminating; persistent: keep it while it
   * exists; drainable: like balanced, but a terminating endpoint that is still `serving` keeps its sessions.
   */
  readonly mode: 'balanced' | 'persistent' | 'drainable';
  /** Re-pick (and re-issue the cookie) when the pinned endpoint fails to connect. */
  readonly changeOnFailure: boolean;
  /** Also pin by the engine.io sid (socket.io clients without cookies): the handshake's sid is sealed. */
  readonly socketio?: boolean;
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
  /** The key `hash` balancing hashes; present exactly when balance is `hash`. */
  readonly hashBy?: readonly HashPart[];
  readonly affinity?: AffinityPolicy;
  readonly timeouts: Timeouts;
  /** How many more endpoints to try after a failure `nextUpstream` retries (ingress-nginx `-tries` minus 1). */
  readonly retries: number;
  /** When a failed try goes to another endpoint (`proxy-next-upstream`); absent: `error timeout`, no time limit. */
  readonly nextUpstream?: NextUpstream;
  readonly health: { readonly passive: PassiveHealthCheck; readonly active?: ActiveHealthCheck };
  /** TLS towards the endpoints (`backend-protocol: HTTPS`); absent means plain HTTP/1.1. */
  readonly tls?: UpstreamTls;
  /**
   * PROXY protocol header (version 1 or 2) sent first on every passthrough relay and WebSocket tunnel to the
   * endpoints, naming the client; plain HTTP requests share pooled connections and carry none.
   */
  readonly proxyProtocol?: 1 | 2;
}

/**
 * ingress-nginx `proxy-next-upstream` conditions. `error`: the connection failed or broke before a response
 * header; `timeout`: connect or response-header timeout; `invalidHeader`: an unparsable response; `statuses`:
 * these response codes (headers held until decided). After the request was sent, only requests without a body
 * are retried, and POST, LOCK and PATCH only with `nonIdempotent`. `timeoutMs`: no retry once this long has
 * passed since the request arrived (0: no limit).
 */
export interface NextUpstream {
  readonly error: boolean;
  readonly timeout: boolean;
  readonly invalidHeader: boolean;
  readonly statuses: readonly number[];
  readonly nonIdempotent: boolean;
  readonly timeoutMs: number;
}

/**
 * TLS to a backend's endpoints, for requests and WebSocket tunnels alike (ingress-nginx `proxy-ssl-*`).
 * `secret` names a Certificate entry: its `caPem` are the trust anchors, its pair the client certificate.
 */
export interface UpstreamTls {
  /** Verify the endpoint's chain and name (`proxy-ssl-verify`); off, any certificate is accepted. */
  readonly verify: boolean;
  /** Certificate id (`namespace/name`) from `proxy-ssl-secret`; absent: no client certificate, Node's roots. */
  readonly secret?: string;
  /** Name the certificate must carry, and the SNI sent (`proxy-ssl-name`, default the Service's DNS name). */
  readonly serverName: string;
  /** Send `serverName` as SNI (`proxy-ssl-server-name`). */
  readonly sni: boolean;
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
  /**
   * Gateway API hostname semantics (HTTPRoute): under a `*.example.com` host the route also serves names
   * with several labels in place of the `*` (`a.b.example.com`); absent, exactly one label, as for Ingress.
   */
  readonly wildcardAnyLabels?: true;
  /** Conditions beyond host and path (method, headers, query); absent means none. */
  readonly conditions?: RequestMatch;
  /**
   * A weighted split (Gateway API backendRefs): when present, each request picks one entry by weight and
   * `backend` is the first entry with a backend. An entry without `backend` is a reference that did not
   * resolve: its share of requests gets 500 (Gateway API HTTPBackendRef). All weights 0 means 500 for all.
   */
  readonly split?: readonly WeightedBackend[];
  /** Request and response changes (Gateway API HTTPRoute filters); absent means none. */
  readonly filters?: RouteFilters;
  /** How the path matches; absent means by `pathType`. `Regex` is ingress-nginx `use-regex` (see RouteMatch). */
  readonly match?: RouteMatch;
  /** Rewrite of the request path before it is proxied (`rewrite-target`), with `$1`..`$9` from `match`. */
  readonly rewrite?: string;
  /** `X-Forwarded-Prefix` value sent to the backend (`x-forwarded-prefix`). */
  readonly forwardedPrefix?: string;
  /** Host header sent to the backend instead of the client's (`upstream-vhost`). */
  readonly upstreamHost?: string;
  /** A local redirect answer instead of proxying (`app-root`, `permanent-redirect`, `temporal-redirect`). */
  readonly answer?: RouteRedirect;
  /** Largest request body in bytes (`proxy-body-size`); absent means unlimited. Above it: 413. */
  readonly maxBodyBytes?: number;
  readonly cors?: CorsPolicy;
  /** A second backend that takes some requests (`canary: "true"` Ingress on the same host and path). */
  readonly canary?: Canary;
  /** Per-client-address limits (`limit-*`); above them: 503. */
  readonly limits?: RateLimits;
  /** Asks for SSL passthrough of the route's host to the route's backend (see VirtualHost.passthrough). */
  readonly passthrough?: true;
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
 * `Regex`: an ingress-nginx regex location: `pattern` is matched case-insensitively from the start of the
 * path (not to its end) by the linear-time matcher of src/snapshot/regex/; capture groups feed `rewrite`.
 */
export interface RouteMatch {
  readonly kind: 'Regex';
  readonly pattern: string;
}

/**
 * A redirect answered at the edge. `app-root`: only the path `/` is redirected, to `location` (a path).
 * `always`: every request on the route (permanent/temporal redirect); `location` is an absolute URL or a path.
 */
export interface RouteRedirect {
  readonly when: 'app-root' | 'always';
  readonly location: string;
  readonly code: 301 | 302 | 303 | 307 | 308;
}

/** CORS as ingress-nginx `enable-cors` serves it: preflight answered 204 at the edge, headers on responses. */
export interface CorsPolicy {
  /** `*`, or origins (`https://a.example.com`, `https://*.example.com`); a request Origin must match one. */
  readonly allowOrigins: readonly string[];
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly allowCredentials: boolean;
  readonly maxAgeSeconds: number;
}

/**
 * Canary (ingress-nginx `canary-*`), in precedence order: header (`always`/`never`, or `headerValue`, or
 * `headerPattern`), cookie (`always`/`never`), then `weight` out of `weightTotal`. `sticky`: a request whose
 * affinity cookie pins it to a canary endpoint stays on the canary (`affinity-canary-behavior: sticky`).
 */
export interface Canary {
  readonly backend: string;
  readonly source: SourceRef;
  readonly weight: number;
  readonly weightTotal: number;
  readonly header?: string;
  readonly headerValue?: string;
  /** Matched like RouteMatch patterns (linear time), anywhere in the header value, case-sensitive. */
  readonly headerPattern?: string;
  readonly cookie?: string;
  readonly sticky: boolean;
}

/**
 * ingress-nginx `limit-*`, per client address: `rps`/`rpm` with bursts of `burstMultiplier` times the rate,
 * `connections` requests in progress. Addresses in `whitelist` (CIDRs) are never limited.
 */
export interface RateLimits {
  readonly rps?: number;
  readonly rpm?: number;
  readonly connections?: number;
  readonly burstMultiplier: number;
  readonly whitelist: readonly string[];
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
  /**
   * `chat.example.com`, `*.example.com` (one label; several too for routes with `wildcardAnyLabels`), or `*`
   * for rules without a host. Lower case.
   */
  readonly hostname: string;
  /** Present when some Ingress lists the host under `tls`; `certificate` absent means the default one. */
  readonly tls?: { readonly certificate?: string };
  /** Sorted by precedence (src/snapshot/precedence.ts). */
  readonly routes: readonly Route[];
  /** Every request to this host is redirected (308) to the same URL on `redirectTo` (`from-to-www-redirect`). */
  readonly redirectTo?: string;
  /**
   * SSL passthrough: TLS for this SNI name is not terminated; the raw connection is relayed to `backend`,
   * which holds the certificate. The routes still serve the plain HTTP listener.
   */
  readonly passthrough?: { readonly backend: string };
  /** `server-alias`: this host is served exactly like `aliasOf` (same routes); `explain` shows it. */
  readonly aliasOf?: string;
}

/** One HTTPS listener's certificate (a Certificate id) for the SNI names its hostname covers. */
export interface ListenerCertificate {
  readonly hostname: string;
  readonly certificate: string;
}

/** A PEM certificate chain and key, by id (usually the Secret's namespace/name). */
export interface Certificate {
  readonly id: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The Secret's `ca.crt`, when it has one: trust anchors for upstream TLS (`proxy-ssl-secret`). */
  readonly caPem?: string;
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
  /**
   * Certificates of Gateway API HTTPS listeners by listener hostname, for SNI names no host's certificate
   * covers, tried before the default: exact names, `*.example.com` (any number of labels, Gateway API), `*`
   * (a listener without hostname). Sorted by hostname; absent when there are none.
   */
  readonly listenerCertificates?: readonly ListenerCertificate[];
}
