import type { CorsPolicy } from '../../snapshot/index.ts';

/**
 * The Access-Control-Allow-Origin value for a request's Origin, or undefined when CORS does not apply
 * (ingress-nginx: `*` always applies; a list applies when the Origin is in it, `https://*.a.b` matching one
 * label). Fetch standard, CORS protocol: a listed origin is echoed, never the whole list.
 */
export function allowedOrigin(policy: CorsPolicy, origin: string | undefined): string | undefined {
  if (policy.allowOrigins.includes('*')) return '*';
  if (origin === undefined) return undefined;
  const o = origin.toLowerCase();
  for (const allowed of policy.allowOrigins) {
    const a = allowed.toLowerCase();
    if (a === o) return origin;
    const star = a.indexOf('://*.');
    if (star === -1) continue;
    const scheme = a.slice(0, star + 3);
    const suffix = a.slice(star + 4); // `.example.org[:port]`
    if (!o.startsWith(scheme) || !o.endsWith(suffix)) continue;
    const label = o.slice(scheme.length, o.length - suffix.length);
    if (/^[a-z0-9-]+$/.test(label)) return origin;
  }
  return undefined;
}

/** The Access-Control-* response headers (name, value, ...), as ingress-nginx adds them. */
export function corsResponseHeaders(policy: CorsPolicy, origin: string): string[] {
  const out = ['access-control-allow-origin', origin];
  if (origin !== '*') out.push('vary', 'Origin');
  if (policy.allowCredentials) out.push('access-control-allow-credentials', 'true');
  out.push('access-control-allow-methods', policy.allowMethods);
  out.push('access-control-allow-headers', policy.allowHeaders);
  if (policy.exposeHeaders !== '') out.push('access-control-expose-headers', policy.exposeHeaders);
  out.push('access-control-max-age', String(policy.maxAgeSeconds));
  return out;
}
