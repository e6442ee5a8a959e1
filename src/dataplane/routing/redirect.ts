/**
 * HTTP -> HTTPS redirects. Only hosts the snapshot configures get here (unknown hosts were answered 404
 * before), and the Location host is the request's own, validated, so the listener is never an open redirect.
 */

/** ACME HTTP-01 challenges must stay reachable over plain HTTP (RFC 8555 8.3). */
export function isAcmeChallenge(path: string): boolean {
  return path.startsWith('/.well-known/acme-challenge/');
}

// A DNS name or a bracketed IPv6 literal; anything else (spaces, `@`, `/`, `\`) is refused.
const SAFE_HOST =
  /^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*|\[[0-9a-f:.]+\])$/;

/**
 * The https:// URL for `host` (normalised, no port) and the request target `url` (path and query kept).
 * The port is written only when it is not 443. undefined when the host is not a safe name.
 */
export function httpsLocation(host: string, url: string, httpsPort: number): string | undefined {
  if (!isSafeHost(host)) return undefined;
  const target = url.charCodeAt(0) === 47 ? url : '/';
  return httpsPort === 443 ? `https://${host}${target}` : `https://${host}:${httpsPort}${target}`;
}

/** True for a DNS name or a bracketed IPv6 literal: safe to write into a Location header. */
export function isSafeHost(host: string): boolean {
  return SAFE_HOST.test(host);
}
