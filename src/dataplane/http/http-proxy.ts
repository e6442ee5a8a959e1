import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { buildConnector, type Dispatcher, Pool } from 'undici';
import { type Forwarded, pushForwarded } from '../front/forwarded.ts';
import type { ProxyDecision } from '../routing/decide.ts';
import type { BackendState } from '../upstream/backend-state.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { H1Pool } from '../upstream/h1-pool.ts';
import type { H1Request } from '../upstream/h1-request.ts';
import type { UpstreamTlsOptions } from '../upstream/upstream-tls.ts';
import { applyHeaderEdits } from './header-edits.ts';
import { setHeaders } from './header-list.ts';
import { HTTP_REQUEST_SKIP, RESPONSE_SKIP } from './hop-by-hop.ts';

/**
 * Connection pools to endpoints (one H1Pool or undici Pool per endpoint id, keep-alive) that survive snapshot swaps,
 * plus the header rewriting shared by the HTTP proxy path.
 */

/** Which HTTP/1.1 client carries proxied plain-HTTP requests: ours (h1-pool.ts) or undici's Pool. */
export type UpstreamClient = 'raw' | 'undici';

/** What the exchange needs of a pool; undici's Pool and our H1Pool both provide it. */
export interface UpstreamPool {
  dispatch(request: H1Request, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
  readonly closed: boolean;
  readonly destroyed: boolean;
}

/**
 * Owns the upstream pools, one per endpoint id and connect settings (timeout, TLS): two backends over one pod
 * with different connect timeouts or TLS settings each get theirs, and an edit takes effect on the next
 * connection. Pools are created on first use and pruned when no backend of the snapshot uses their key any more.
 */
export class PoolMap {
  #pools = new Map<string, { origin: string; pool: UpstreamPool }>();
  /**
   * The pool each (backend state, endpoint state) pair resolved to, so a request finds it by two identity
   * lookups instead of building its key and origin strings (issue 13 item 2). A BackendState's connect
   * settings never change; a pool that closed (pruned, replaced) or an endpoint that moved misses.
   */
  #resolved = new WeakMap<BackendState, Map<EndpointState, Resolved>>();
  /** Pools made since the last prune, by key, with their endpoint id (pruneRetired checks them too). */
  #made = new Map<string, string>();
  #keepAliveTimeoutMs: number;
  #maxConnections: number | undefined;
  #client: UpstreamClient;

  /**
   * `maxConnections`: per endpoint; beyond it requests wait in the pool's queue for a free connection.
   * `client`: which HTTP/1.1 client the pools use (default raw: ours, h1-pool.ts).
   */
  constructor(
    options: { keepAliveTimeoutMs?: number; maxConnections?: number; client?: UpstreamClient } = {},
  ) {
    this.#keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 4_000;
    this.#maxConnections = options.maxConnections;
    this.#client = options.client ?? 'raw';
  }

  /** The client the pools use. */
  get client(): UpstreamClient {
    return this.#client;
  }

  /** The pool for `endpoint` with `backend`'s connect settings; recreated when the id now points elsewhere. */
  get(endpoint: EndpointState, backend: BackendState): UpstreamPool {
    const hit = this.#resolved.get(backend)?.get(endpoint);
    if (hit !== undefined && hit.address === endpoint.address && hit.port === endpoint.port) {
      if (!hit.pool.closed && !hit.pool.destroyed) return hit.pool;
    }
    const pool = this.#lookup(endpoint, backend);
    let byEndpoint = this.#resolved.get(backend);
    if (byEndpoint === undefined) {
      byEndpoint = new Map();
      this.#resolved.set(backend, byEndpoint);
    }
    byEndpoint.set(endpoint, { pool, address: endpoint.address, port: endpoint.port });
    return pool;
  }

  #lookup(endpoint: EndpointState, backend: BackendState): UpstreamPool {
    const key = poolKey(endpoint.id, backend);
    const tls = backend.tls;
    const entry = this.#pools.get(key);
    if (entry !== undefined && entry.pool.closed === false && entry.pool.destroyed === false) {
      if (entry.origin === originOf(endpoint, tls)) return entry.pool;
    }
    if (entry !== undefined) void entry.pool.close().catch(noop);
    const origin = originOf(endpoint, tls);
    const connectMs = backend.config.timeouts.connectMs;
    // headersTimeout/bodyTimeout are set per request (exchange.ts), so only connect settings are in the key.
    // undici's default is unlimited: one slow endpoint could take every file descriptor of the process.
    const cap = this.#maxConnections !== undefined ? { connections: this.#maxConnections } : {};
    // Our client speaks plain TCP only: TLS upstreams (backend-protocol HTTPS, proxy-ssl-*) stay on undici,
    // whose connector carries the verification options (docs/architecture.md, "Upstream clients").
    const pool: UpstreamPool =
      this.#client === 'raw' && tls === undefined
        ? new H1Pool(endpoint.address, endpoint.port, {
            connectTimeout: connectMs,
            keepAliveTimeout: this.#keepAliveTimeoutMs,
            ...cap,
          })
        : new Pool(origin, {
            connectTimeout: connectMs,
            keepAliveTimeout: this.#keepAliveTimeoutMs,
            pipelining: 1,
            ...(tls !== undefined ? { connect: connectTls(tls, connectMs), allowH2: false } : {}),
            ...cap,
          });
    this.#pools.set(key, { origin, pool });
    this.#made.set(key, endpoint.id);
    return pool;
  }

  /** Number of pools (stats, tests). */
  get size(): number {
    return this.#pools.size;
  }

  /** Closes the pools no backend of `backends` uses any more; in-flight requests on them finish first. */
  prune(backends: Iterable<BackendState>): void {
    const live = new Set<string>();
    for (const b of backends) for (const e of b.config.endpoints) live.add(poolKey(e.id, b));
    this.#made.clear();
    for (const [key, entry] of this.#pools) {
      if (live.has(key)) continue;
      this.#pools.delete(key);
      void entry.pool.close().catch(noop);
    }
  }

  /**
   * prune() for what a swap changed: the pools of `retired` backend states (replaced or gone), and those made
   * since the last prune (a request may still hold a retired state), are closed unless a backend listing
   * their endpoint now (`listing`) still uses their key. Same result as prune() over the current backends.
   */
  pruneRetired(
    retired: Iterable<BackendState>,
    listing: (endpointId: string) => Iterable<BackendState>,
  ): void {
    const check = (endpointId: string, key: string) => {
      const entry = this.#pools.get(key);
      if (entry === undefined) return;
      for (const b of listing(endpointId)) if (poolKey(endpointId, b) === key) return;
      this.#pools.delete(key);
      void entry.pool.close().catch(noop);
    };
    for (const b of retired) for (const e of b.config.endpoints) check(e.id, poolKey(e.id, b));
    for (const [key, endpointId] of this.#made) check(endpointId, key);
    this.#made.clear();
  }

  /** Closes the pools of endpoint ids no backend lists any more (the endpoint-only fast path of prune). */
  pruneEndpoints(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const gone = new Set(ids);
    for (const [key, entry] of this.#pools) {
      if (!gone.has(key.slice(0, key.indexOf(' ')))) continue;
      this.#pools.delete(key);
      this.#made.delete(key);
      void entry.pool.close().catch(noop);
    }
  }

  /** Closes every pool gracefully (in-flight requests finish), or destroys them when `force`. */
  async close(force = false): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    this.#made.clear();
    await Promise.all(all.map((e) => (force ? e.pool.destroy() : e.pool.close()).catch(noop)));
  }
}

interface Resolved {
  readonly pool: UpstreamPool;
  readonly address: string;
  readonly port: number;
}

function poolKey(endpointId: string, backend: BackendState): string {
  const tls = backend.tls;
  return `${endpointId} ${backend.config.timeouts.connectMs}${tls === undefined ? '' : ` tls ${tls.key}`}`;
}

function originOf(e: EndpointState, tls: UpstreamTlsOptions | undefined): string {
  const scheme = tls === undefined ? 'http' : 'https';
  return e.address.includes(':')
    ? `${scheme}://[${e.address}]:${e.port}`
    : `${scheme}://${e.address}:${e.port}`;
}

/**
 * A connector with the backend's TLS options. undici derives SNI from each request's Host header (the
 * client's): the connector drops it so only proxy-ssl-name is ever sent, or nothing (endpoints are IPs).
 * ALPN stays http/1.1 (allowH2: false): HTTP/2 upstreams come with issue 16.
 */
function connectTls(tls: UpstreamTlsOptions, timeout: number): buildConnector.connector {
  const connect = buildConnector({
    timeout,
    allowH2: false,
    rejectUnauthorized: tls.rejectUnauthorized,
    checkServerIdentity: tls.checkServerIdentity,
    ...(tls.ca !== undefined ? { ca: [...tls.ca] } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert, key: tls.privateKey } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
  });
  return (options, callback) => connect({ ...options, servername: undefined }, callback);
}

function noop(): void {}

/**
 * The upstream request headers as undici's flat list: the client's headers minus `skip` and any header the
 * client's Connection header names (RFC 9110 7.6.1), Host set to `host` (the authority routed on), then the
 * forwarded set. The HTTP path and the Upgrade path both build their headers here.
 */
export function upstreamHeaders(
  req: IncomingMessage,
  fwd: Forwarded,
  host: string,
  skip: ReadonlySet<string> = HTTP_REQUEST_SKIP,
): string[] {
  const h = req.headers;
  // A request without Host (HTTP/1.0) keeps having none; undici then names the endpoint, as before.
  const out: string[] = host === '' ? [] : ['host', host];
  const extra = connectionTokens(h);
  for (const name in h) {
    // ':'-prefixed: an h2 request's pseudo-headers (RFC 9113 8.3), the request line, never a field upstream.
    if (name === 'host' || name.charCodeAt(0) === 58 || skip.has(name) || extra?.has(name)) continue;
    const v = h[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(name, v);
    else for (const one of v) out.push(name, one);
  }
  pushForwarded(out, fwd);
  return out;
}

/**
 * Header names listed in the Connection header (RFC 9110 7.6.1), beyond the usual close/keep-alive/upgrade.
 * undici gives a repeated response header as an array (node:http joins request ones): every line counts, and
 * a repeated Connection must never throw, which reset the client with no response (issue 10 item 10).
 */
function connectionTokens(h: IncomingHttpHeaders): Set<string> | undefined {
  const c: string | string[] | undefined = h.connection;
  if (c === undefined || c === 'keep-alive' || c === 'close' || c === 'Upgrade' || c === 'upgrade')
    return undefined;
  const set = new Set<string>();
  for (const line of typeof c === 'string' ? [c] : c) {
    for (const t of line.split(',')) {
      const name = t.trim().toLowerCase();
      // `Connection: Upgrade` names the Upgrade header, which the WebSocket path sends on (re-nominated).
      if (name !== 'upgrade') set.add(name);
    }
  }
  return set;
}

/**
 * Appends a response's headers from undici (lower-case keys) to `out` as a flat list, minus hop-by-hop ones.
 * The caller appends its own Set-Cookie after the upstream's.
 */
export function pushResponseHeaders(out: string[], headers: IncomingHttpHeaders): void {
  const extra = connectionTokens(headers);
  for (const name in headers) {
    if (RESPONSE_SKIP.has(name) || extra?.has(name)) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(name, v);
    else for (const one of v) out.push(name, one);
  }
}

/**
 * The response header list sent to the client: the upstream's minus hop-by-hop ones, the route's header edits
 * (Gateway API), our Set-Cookie after the upstream's, then the route's own headers (CORS) replacing theirs.
 */
export function responseHeaders(
  upstream: IncomingHttpHeaders,
  decision: ProxyDecision<BackendState>,
  setCookie: string | undefined,
): string[] {
  let out: string[] = [];
  pushResponseHeaders(out, upstream);
  out = applyHeaderEdits(out, decision.route.route.filters?.response);
  if (setCookie !== undefined) out.push('set-cookie', setCookie);
  return setHeaders(out, decision.responseHeaders);
}

/**
 * No request body (no Transfer-Encoding, Content-Length absent or 0; on h2 the HEADERS frame ended the
 * stream): nothing to stream upstream, so a try that was sent can be sent again (proxy-next-upstream).
 */
export function bodiless(req: IncomingMessage): boolean {
  const h = req.headers;
  const stream = (req as { stream?: { endAfterHeaders: boolean } }).stream;
  return (
    h['transfer-encoding'] === undefined &&
    (h['content-length'] === undefined || h['content-length'] === '0') &&
    // h2 frames the body itself (RFC 9113 8.1): DATA after HEADERS without END_STREAM, no length needed.
    (stream === undefined || stream.endAfterHeaders !== false)
  );
}
