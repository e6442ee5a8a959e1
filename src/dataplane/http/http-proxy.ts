import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Pool } from 'undici';
import type { Backend } from '../../snapshot/index.ts';
import { type Forwarded, pushForwarded } from '../front/forwarded.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { HTTP_REQUEST_SKIP, RESPONSE_SKIP } from './hop-by-hop.ts';

/**
 * Connection pools to endpoints (one undici Pool per endpoint id, keep-alive) that survive snapshot swaps,
 * plus the header rewriting shared by the HTTP proxy path.
 */

/** Owns the per-endpoint pools. Pools are created on first use and pruned when their endpoint id leaves. */
export class PoolMap {
  #pools = new Map<string, { origin: string; pool: Pool }>();
  #keepAliveTimeoutMs: number;

  constructor(options: { keepAliveTimeoutMs?: number } = {}) {
    this.#keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 4_000;
  }

  /** The pool for `endpoint`; recreated when the id now points at another address. */
  get(endpoint: EndpointState, backend: Backend): Pool {
    const entry = this.#pools.get(endpoint.id);
    if (entry !== undefined && entry.pool.closed === false && entry.pool.destroyed === false) {
      if (entry.origin === originOf(endpoint)) return entry.pool;
    }
    if (entry !== undefined) void entry.pool.close().catch(noop);
    const origin = originOf(endpoint);
    const pool = new Pool(origin, {
      connectTimeout: backend.timeouts.connectMs,
      keepAliveTimeout: this.#keepAliveTimeoutMs,
      headersTimeout: backend.timeouts.readMs,
      bodyTimeout: backend.timeouts.readMs,
      pipelining: 1,
    });
    this.#pools.set(endpoint.id, { origin, pool });
    return pool;
  }

  /** Number of pools (stats, tests). */
  get size(): number {
    return this.#pools.size;
  }

  /** Closes the pools of endpoint ids `isLive` rejects; in-flight requests on them finish first. */
  prune(isLive: (endpointId: string) => boolean): void {
    for (const [id, entry] of this.#pools) {
      if (isLive(id)) continue;
      this.#pools.delete(id);
      void entry.pool.close().catch(noop);
    }
  }

  /** Closes every pool gracefully (in-flight requests finish), or destroys them when `force`. */
  async close(force = false): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(all.map((e) => (force ? e.pool.destroy() : e.pool.close()).catch(noop)));
  }
}

function originOf(e: EndpointState): string {
  return e.address.includes(':') ? `http://[${e.address}]:${e.port}` : `http://${e.address}:${e.port}`;
}

function noop(): void {}

/**
 * The upstream request headers as undici's flat list: the client's headers minus hop-by-hop ones (and any
 * header the client's Connection header names), then the forwarded set.
 */
export function upstreamHeaders(req: IncomingMessage, fwd: Forwarded): string[] {
  const h = req.headers;
  const out: string[] = [];
  const extra = connectionTokens(h);
  for (const name in h) {
    if (HTTP_REQUEST_SKIP.has(name) || extra?.has(name)) continue;
    const v = h[name];
    if (v === undefined) continue;
    if (typeof v === 'string') out.push(name, v);
    else for (const one of v) out.push(name, one);
  }
  pushForwarded(out, fwd);
  return out;
}

/** Header names listed in the Connection header (RFC 9110 7.6.1), beyond the usual close/keep-alive/upgrade. */
function connectionTokens(h: IncomingHttpHeaders): Set<string> | undefined {
  const c = h.connection;
  if (c === undefined || c === 'keep-alive' || c === 'close' || c === 'Upgrade' || c === 'upgrade')
    return undefined;
  const set = new Set<string>();
  for (const t of c.split(',')) set.add(t.trim().toLowerCase());
  return set;
}

/**
 * Appends a response's headers from undici (lower-case keys) to `out` as a flat list, minus hop-by-hop ones.
 * Returns the upstream's Set-Cookie values position-free: the caller appends its own after.
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
