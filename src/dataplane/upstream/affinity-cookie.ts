import { createHmac } from 'node:crypto';
import type { AffinityPolicy, Backend } from '../../snapshot/index.ts';

/** Length of the cookie value: 22 base64url characters = 132 bits of the HMAC, plenty against collisions. */
const VALUE_LENGTH = 22;

/**
 * The affinity cookie value for an endpoint of a backend: an opaque keyed hash of the Service and endpoint id,
 * never an address (Traefik's sticky.go habit). Same key => same value on every replica.
 */
export function affinityValue(key: Buffer, service: Backend['service'], endpointId: string): string {
  return createHmac('sha256', key)
    .update(`${service.namespace}/${service.name}:${service.port}|${endpointId}`)
    .digest('base64url')
    .slice(0, VALUE_LENGTH);
}

/**
 * The entry of `known` named by the first cookie called `name` in a raw Cookie header whose value `known` holds.
 * Several cookies of one name (different Paths) may arrive; a stale one must not hide a good one. Tolerates
 * malformed headers (missing spaces, stray semicolons, quoted values, pairs without '=').
 */
export function findKnownCookie<T>(
  header: string,
  name: string,
  known: ReadonlyMap<string, T>,
): T | undefined {
  let from = 0;
  for (;;) {
    const at = header.indexOf(name, from);
    if (at < 0) return undefined;
    from = at + name.length;
    if (!startsPair(header, at)) continue;
    let i = from;
    while (i < header.length && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9)) i++;
    if (header.charCodeAt(i) !== 61 /* = */) continue;
    let end = header.indexOf(';', i + 1);
    if (end < 0) end = header.length;
    let value = header.slice(i + 1, end).trim();
    // RFC 6265 4.1.1 allows a DQUOTE-wrapped value.
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    const hit = known.get(value);
    if (hit !== undefined) return hit;
    from = end;
  }
}

/** True when `at` is the start of a cookie-pair: start of header, or only whitespace back to a ';'. */
function startsPair(header: string, at: number): boolean {
  for (let j = at - 1; j >= 0; j--) {
    const c = header.charCodeAt(j);
    if (c === 59 /* ; */) return true;
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

// RFC 6265 4.1.1: cookie-name is an RFC 7230 token; attribute values may not hold ';' or controls.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ATTRIBUTE_VALUE = /^[\x20-\x3a\x3c-\x7e]*$/;

/**
 * The Set-Cookie attributes of one backend, validated and rendered once at update so the request path only
 * concatenates. `problem` is set (and `header` must not be used) when the policy cannot produce a safe header.
 */
export class CookieTemplate {
  readonly name: string;
  readonly problem: string | undefined;
  /** Path, Domain, Max-Age, SameSite, HttpOnly, Secure when it does not depend on the request. */
  #suffix: string;
  #secure: 'never' | 'always' | 'https';
  #expiresMs: number | undefined;
  #now: () => number;

  constructor(policy: AffinityPolicy, now: () => number) {
    const c = policy.cookie;
    this.name = c.name;
    this.#now = now;
    this.problem = checkPolicy(policy);
    let suffix = `; Path=${c.path || '/'}`;
    if (c.domain) suffix += `; Domain=${c.domain}`;
    if (c.maxAgeSeconds !== undefined) suffix += `; Max-Age=${Math.trunc(c.maxAgeSeconds)}`;
    if (c.sameSite) suffix += `; SameSite=${c.sameSite}`;
    // Browsers reject SameSite=None without Secure (https://web.dev/articles/samesite-cookies-explained).
    this.#secure = c.secure === 'always' || c.sameSite === 'None' ? 'always' : 'https';
    if (this.#secure === 'always') suffix += '; Secure';
    if (c.httpOnly) suffix += '; HttpOnly';
    this.#suffix = suffix;
    this.#expiresMs = c.expiresSeconds === undefined ? undefined : Math.trunc(c.expiresSeconds) * 1000;
  }

  /** The Set-Cookie header value pinning to `value`; `secure` = the request came over HTTPS. */
  header(value: string, secure: boolean): string {
    let out = `${this.name}=${value}${this.#suffix}`;
    if (this.#secure === 'https' && secure) out += '; Secure';
    // toUTCString is the IMF-fixdate form of RFC 9110 5.6.7.
    if (this.#expiresMs !== undefined)
      out += `; Expires=${new Date(this.#now() + this.#expiresMs).toUTCString()}`;
    return out;
  }
}

function checkPolicy(policy: AffinityPolicy): string | undefined {
  const c = policy.cookie;
  if (!TOKEN.test(c.name)) return `cookie name ${JSON.stringify(c.name)} is not an RFC 6265 token`;
  if (!ATTRIBUTE_VALUE.test(c.path))
    return `cookie path ${JSON.stringify(c.path)} holds ';' or control characters`;
  if (c.domain !== undefined && !ATTRIBUTE_VALUE.test(c.domain)) {
    return `cookie domain ${JSON.stringify(c.domain)} holds ';' or control characters`;
  }
  for (const [field, v] of [
    ['maxAgeSeconds', c.maxAgeSeconds],
    ['expiresSeconds', c.expiresSeconds],
  ] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 2_147_483_647)) {
      return `cookie ${field} ${v} is out of range`;
    }
  }
  return undefined;
}
