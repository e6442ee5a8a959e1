import type { PathRewrite, RedirectFilter } from '../../snapshot/types.ts';
import { isSafeHost } from './redirect.ts';

/**
 * Gateway API path rewrites and redirect locations (HTTPURLRewriteFilter, HTTPRequestRedirectFilter), pure.
 * Only hosts the snapshot configures reach here, and every Location host is validated, so no open redirect.
 */

/**
 * `path` with `rewrite` applied. `prefix` is the route's Prefix match without trailing slash ('' for `/`);
 * ReplacePrefixMatch replaces whole path elements only, and never leaves `//` at the seam.
 */
export function rewritePath(path: string, rewrite: PathRewrite, prefix: string | undefined): string {
  if (rewrite.type === 'full') return rewrite.value;
  if (prefix === undefined) return path; // the builder only allows ReplacePrefixMatch on Prefix matches
  const rest = path.slice(prefix.length);
  const base = rewrite.value.replace(/\/+$/, '');
  if (rest === '' || rest === '/') return base === '' ? '/' : rest === '/' ? `${base}/` : base;
  return `${base}${rest}`;
}

/** What the redirect needs from the request: scheme, host (normalised), the port the client used, path, query. */
export interface RedirectInput {
  readonly secure: boolean;
  readonly host: string;
  /** The port of the Host header, or undefined when it had none. */
  readonly port: number | undefined;
  readonly path: string;
  readonly query: string;
  /** The route's Prefix (see rewritePath). */
  readonly prefix: string | undefined;
}

/** The Location of a RequestRedirect, or undefined when the resulting host is not a safe name. */
export function redirectLocation(f: RedirectFilter, input: RedirectInput): string | undefined {
  const scheme = f.scheme ?? (input.secure ? 'https' : 'http');
  const host = f.hostname ?? input.host;
  if (!isSafeHost(host)) return undefined;
  // Gateway API: with a scheme and no port, the scheme's well-known port; with neither, the listener's port.
  const port = f.port ?? (f.scheme !== undefined ? undefined : input.port);
  const wellKnown = scheme === 'https' ? 443 : 80;
  const authority = port === undefined || port === wellKnown ? host : `${host}:${port}`;
  const path = f.path ? rewritePath(input.path, f.path, input.prefix) : input.path;
  return `${scheme}://${authority}${path}${input.query}`;
}

/** The port of a Host header value (`a:8080`, `[::1]:8443`), or undefined. */
export function hostPort(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const m = /:(\d{1,5})$/.exec(header);
  if (m === null || header.endsWith(']')) return undefined;
  const n = Number(m[1]);
  return n > 0 && n < 65536 ? n : undefined;
}
