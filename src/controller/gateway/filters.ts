import type {
  HeaderEdits,
  NameValue,
  PathRewrite,
  RedirectFilter,
  RouteFilters,
} from '../../snapshot/types.ts';
import { normalizeHost } from '../build/hostname.ts';
import { asArray, isRecord, str } from '../build/meta.ts';

/**
 * HTTPRoute rule filters -> `RouteFilters` (plain data for the snapshot). Served: RequestHeaderModifier,
 * ResponseHeaderModifier, RequestRedirect, URLRewrite. Anything else is a problem: the rule is not served
 * rather than served without a filter its author relies on.
 */
export function parseFilters(raw: unknown): { filters?: RouteFilters; problems: string[] } {
  const problems: string[] = [];
  const out: { -readonly [K in keyof RouteFilters]: RouteFilters[K] } = {};
  for (const f of asArray<unknown>(raw)) {
    if (!isRecord(f)) continue;
    if (f.type === 'RequestHeaderModifier') out.request = headerEdits(f.requestHeaderModifier);
    else if (f.type === 'ResponseHeaderModifier') out.response = headerEdits(f.responseHeaderModifier);
    else if (f.type === 'RequestRedirect') {
      const r = redirectOf(f.requestRedirect);
      if (typeof r === 'string') problems.push(r);
      else out.redirect = r;
    } else if (f.type === 'URLRewrite') {
      const u = isRecord(f.urlRewrite) ? f.urlRewrite : {};
      const rewrite: { path?: PathRewrite; hostname?: string } = {};
      const path = pathRewriteOf(u.path);
      if (typeof path === 'string') problems.push(path);
      else if (path) rewrite.path = path;
      const host = str(u.hostname);
      if (host) rewrite.hostname = host.toLowerCase();
      out.rewrite = rewrite;
    } else problems.push(`filter type ${String(f.type)} is not supported`);
  }
  if (out.redirect && out.rewrite) problems.push('RequestRedirect and URLRewrite cannot be combined');
  return Object.keys(out).length > 0 ? { filters: out, problems } : { problems };
}

function headerEdits(raw: unknown): HeaderEdits {
  const m = isRecord(raw) ? raw : {};
  const pairs = (v: unknown): NameValue[] =>
    asArray<unknown>(v)
      .filter(isRecord)
      .filter((p) => str(p.name) !== undefined && typeof p.value === 'string')
      .map((p) => ({ name: (p.name as string).toLowerCase(), value: p.value as string }));
  const remove = asArray<unknown>(m.remove)
    .filter((n): n is string => typeof n === 'string' && n !== '')
    .map((n) => n.toLowerCase());
  return { set: pairs(m.set), add: pairs(m.add), remove };
}

function pathRewriteOf(raw: unknown): PathRewrite | string | undefined {
  if (!isRecord(raw)) return undefined;
  if (raw.type === 'ReplaceFullPath' && typeof raw.replaceFullPath === 'string')
    return { type: 'full', value: raw.replaceFullPath };
  if (raw.type === 'ReplacePrefixMatch' && typeof raw.replacePrefixMatch === 'string')
    return { type: 'prefix', value: raw.replacePrefixMatch };
  return `path modifier ${String(raw.type)} is not supported`;
}

const CODES = new Set([301, 302, 303, 307, 308]);

function redirectOf(raw: unknown): RedirectFilter | string {
  const r = isRecord(raw) ? raw : {};
  const statusCode = r.statusCode ?? 302;
  if (!CODES.has(statusCode as number)) return `redirect statusCode ${String(statusCode)} is not supported`;
  const out: { -readonly [K in keyof RedirectFilter]: RedirectFilter[K] } = {
    statusCode: statusCode as RedirectFilter['statusCode'],
  };
  if (r.scheme !== undefined) {
    if (r.scheme !== 'http' && r.scheme !== 'https')
      return `redirect scheme ${String(r.scheme)} is not supported`;
    out.scheme = r.scheme;
  }
  if (r.hostname !== undefined) {
    const h = normalizeHost(r.hostname);
    if (h === undefined || h.startsWith('*'))
      return `redirect hostname ${String(r.hostname)} is not a DNS name`;
    out.hostname = h;
  }
  if (r.port !== undefined) {
    if (typeof r.port !== 'number' || !Number.isInteger(r.port) || r.port < 1 || r.port > 65535)
      return `redirect port ${String(r.port)} is invalid`;
    out.port = r.port;
  }
  const path = pathRewriteOf(r.path);
  if (typeof path === 'string') return path;
  if (path) out.path = path;
  return out;
}
