import type { CompiledConfig, CompiledHost, CompiledRoute } from './compile.ts';
import { type MatchInput, matchesRequest } from './match.ts';

/**
 * Request -> route matching on a compiled snapshot: exact host, then wildcard (one label; more for Gateway
 * API routes), then `*`; within a host the first route (precedence order) whose path matches (Ingress v1 Exact/Prefix semantics).
 */

/**
 * Normalises a Host header: lower case, port stripped, trailing dot dropped; `[::1]:80` -> `[::1]`.
 * Returns '' for a missing header.
 */
export function normalizeHost(header: string | undefined): string {
  if (!header) return '';
  let h = header;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const close = h.indexOf(']');
    return close === -1 ? h.toLowerCase() : h.slice(0, close + 1).toLowerCase();
  }
  const colon = h.indexOf(':');
  if (colon !== -1) h = h.slice(0, colon);
  if (h.charCodeAt(h.length - 1) === 46 /* . */) h = h.slice(0, -1);
  return h.toLowerCase();
}

/**
 * The virtual host serving `host` (already normalised), or undefined (404): the exact name, else the most
 * specific wildcard, else `*`. O(labels) map lookups, never a scan of the hosts.
 */
export function findHost<B>(config: CompiledConfig<B>, host: string): CompiledHost<B> | undefined {
  const exact = config.exact.get(host);
  if (exact !== undefined) return exact;
  if (config.wildcard.size > 0) {
    let dot = host.indexOf('.');
    // Ingress: `*.example.com` covers exactly one label: `a.example.com`, not `example.com` nor `a.b.example.com`.
    if (dot > 0) {
      const wild = config.wildcard.get(host.slice(dot + 1));
      if (wild !== undefined) return wild;
      // Gateway API (HTTPRoute hostnames): a wildcard covers any number of labels and the longest suffix
      // wins, so `a.b.example.com` tries `*.b.example.com` above, then `*.example.com`, `*.com` here.
      if (config.deepWildcards > 0) {
        for (dot = host.indexOf('.', dot + 1); dot !== -1; dot = host.indexOf('.', dot + 1)) {
          const deep = config.wildcard.get(host.slice(dot + 1))?.deep;
          if (deep !== undefined) return deep;
        }
      }
    }
  }
  return config.catchAll;
}

/**
 * The first route of `host` whose path matches `path` (no query string) and whose method/header/query
 * conditions `input` meets, or undefined (404). A route with conditions never matches without `input`.
 */
export function findRoute<B>(
  host: CompiledHost<B>,
  path: string,
  input?: MatchInput,
): CompiledRoute<B> | undefined {
  const routes = host.routes;
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i] as CompiledRoute<B>;
    if (!pathMatches(r, path)) continue;
    if (r.listener !== undefined && (input === undefined || r.listener !== (input.secure ? 'https' : 'http')))
      continue;
    if (r.conditions === undefined || matchesRequest(r.conditions, input)) return r;
  }
  return undefined;
}

function pathMatches<B>(r: CompiledRoute<B>, path: string): boolean {
  // ingress-nginx regex location: first match in order (linear-time VM, never a backtracking RegExp).
  if (r.regex !== undefined) return r.regex.test(path);
  if (r.exact) return path === r.path;
  const p = r.path;
  // Prefix matches whole path elements: `/foo` matches `/foo`, `/foo/`, `/foo/bar`, never `/foobar`.
  if (p.length === 0) return true;
  return path.startsWith(p) && (path.length === p.length || path.charCodeAt(p.length) === 47);
}
