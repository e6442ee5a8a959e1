import type { CompiledHost, CompiledRoute } from './compile.ts';
import { allowedOrigin, corsResponseHeaders } from './cors.ts';

/**
 * The per-request rules of ingress-nginx annotations (issue 15), as pure functions of the compiled route and
 * what the request says: host and route redirects, CORS preflight, body-size refusal, canary pick, rewrite.
 * The request decision calls them between "route found" and "proxy"; nothing here reads sockets or state.
 */

/** What the rules need from the request. `roll` is a uniform number in [0, 1) (the canary weight draw). */
export interface RuleFacts {
  readonly method: string;
  readonly path: string;
  /** `?...` or ''. */
  readonly query: string;
  /** The Host header as received (used in absolute redirects after a safety check). */
  readonly hostHeader: string | undefined;
  readonly secure: boolean;
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
  readonly roll: number;
  /** Whether the request's affinity cookie pins it to an endpoint of this backend (canary stickiness). */
  pinned(backend: unknown): boolean;
}

/** A rule's answer: redirect, a local answer, or proxy with these changes. */
export type RuleOutcome<B> =
  | { kind: 'redirect'; status: number; location: string }
  | { kind: 'local'; status: 204 | 400 | 413; headers: string[] }
  | {
      kind: 'proxy';
      backend: B | undefined;
      canary: boolean;
      /** Origin-form target to send upstream (rewritten, query kept). */
      target: string;
      /** Extra request headers (name, value, ...). */
      requestHeaders: string[];
      /** Extra response headers (CORS). */
      responseHeaders: string[];
    };

const SAFE_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** from-to-www-redirect twin host: 308 to the same URL on the target host (ingress-nginx uses 308). */
export function hostRedirect<B>(vhost: CompiledHost<B>, facts: RuleFacts): RuleOutcome<B> | undefined {
  if (vhost.redirectTo === undefined) return undefined;
  const port = portOf(facts.hostHeader);
  const scheme = facts.secure ? 'https' : 'http';
  return {
    kind: 'redirect',
    status: 308,
    location: `${scheme}://${vhost.redirectTo}${port}${facts.path}${facts.query}`,
  };
}

/**
 * The rules of one matched route, in ingress-nginx's order: redirects (app-root for `/`, permanent,
 * temporal) answer before anything else; then a CORS preflight is answered 204; then a body whose
 * Content-Length is above proxy-body-size gets 413; then the canary is picked and the path rewritten.
 */
export function applyRouteRules<B>(route: CompiledRoute<B>, facts: RuleFacts): RuleOutcome<B> {
  const r = route.route;
  const answer = r.answer;
  if (answer && (answer.when === 'always' || facts.path === '/')) {
    const location = absolute(answer.location, facts);
    if (location === undefined) return { kind: 'local', status: 400, headers: [] };
    return { kind: 'redirect', status: answer.code, location };
  }
  let responseHeaders: string[] = [];
  if (r.cors) {
    const origin = allowedOrigin(r.cors, facts.header('origin'));
    if (origin !== undefined) {
      responseHeaders = corsResponseHeaders(r.cors, origin);
      // ingress-nginx answers the preflight itself: 204, text/plain, empty.
      if (facts.method === 'OPTIONS') {
        const headers = [...responseHeaders, 'content-type', 'text/plain; charset=utf-8'];
        return { kind: 'local', status: 204, headers };
      }
    }
  }
  if (r.maxBodyBytes !== undefined) {
    const length = facts.header('content-length');
    // RFC 9110 §15.5.14: 413 Content Too Large, before anything reaches the backend.
    if (length !== undefined && /^\d+$/.test(length) && Number(length) > r.maxBodyBytes) {
      return { kind: 'local', status: 413, headers: ['connection', 'close'] };
    }
  }
  const canary = route.canaryBackend !== undefined && pickCanary(route, facts);
  const requestHeaders: string[] = [];
  if (r.forwardedPrefix !== undefined) requestHeaders.push('x-forwarded-prefix', r.forwardedPrefix);
  return {
    kind: 'proxy',
    backend: canary ? route.canaryBackend : route.backend,
    canary,
    target: rewriteTarget(route, facts.path, facts.query),
    requestHeaders,
    responseHeaders,
  };
}

/**
 * ingress-nginx canary precedence: header (`always`/`never`, or the exact value, or the pattern), then
 * cookie (`always`/`never`), then, with `sticky`, the affinity cookie's backend, then the weight draw.
 */
export function pickCanary<B>(route: CompiledRoute<B>, facts: RuleFacts): boolean {
  const c = route.route.canary;
  if (c === undefined) return false;
  if (c.header !== undefined) {
    const v = facts.header(c.header);
    if (v !== undefined) {
      if (c.headerValue !== undefined) {
        if (v === c.headerValue) return true;
      } else if (route.canaryPattern !== undefined) {
        if (route.canaryPattern.test(v)) return true;
      } else if (v === 'always') return true;
      else if (v === 'never') return false;
    }
  }
  if (c.cookie !== undefined) {
    const v = facts.cookie(c.cookie);
    if (v === 'always') return true;
    if (v === 'never') return false;
  }
  if (c.sticky) {
    if (facts.pinned(route.canaryBackend)) return true;
    if (facts.pinned(route.backend)) return false;
  }
  return c.weight > 0 && facts.roll * c.weightTotal < c.weight;
}

/** rewrite-target: the whole path becomes the target with `$1`..`$9` from the route's regex; the query stays. */
export function rewriteTarget<B>(route: CompiledRoute<B>, path: string, query: string): string {
  const template = route.route.rewrite;
  if (template === undefined) return path + query;
  const groups = route.regex?.exec(path)?.groups ?? [];
  let out = template.replace(/\$([0-9])/g, (_, n: string) => groups[Number(n)] ?? '');
  if (!out.startsWith('/')) out = `/${out}`;
  // nginx appends the original arguments unless the replacement has its own (`rewrite` directive).
  if (query !== '') out += out.includes('?') ? `&${query.slice(1)}` : query;
  return out;
}

function absolute(location: string, facts: RuleFacts): string | undefined {
  if (!location.startsWith('/')) return location;
  const host = facts.hostHeader;
  if (host === undefined || !SAFE_HOST.test(host)) return undefined;
  return `${facts.secure ? 'https' : 'http'}://${host.toLowerCase()}${location}`;
}

function portOf(hostHeader: string | undefined): string {
  const m = hostHeader === undefined ? null : /:(\d{1,5})$/.exec(hostHeader);
  return m && !hostHeader?.endsWith(']') ? `:${m[1]}` : '';
}
