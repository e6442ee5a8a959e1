import type { IncomingMessage } from 'node:http';
import type { CidrSet } from './cidr.ts';
import { unmapIPv4 } from './cidr.ts';

/**
 * X-Forwarded-For/-Proto/-Host/-Port and X-Real-IP for the upstream request. Incoming X-Forwarded-* values are
 * kept only when the TCP peer is a trusted proxy; otherwise they are replaced, so a client cannot spoof its
 * address or scheme by default.
 */
export interface Forwarded {
  for: string;
  proto: string;
  host: string;
  port: string;
  realIp: string;
}

/** Names of the request headers this module owns; the proxy drops the client's copies of them. */
export const FORWARDED_HEADERS: ReadonlySet<string> = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
]);

/** Computes the forwarded values for `req` arriving on a listener (`secure` = HTTPS). */
export function forwardedFor(req: IncomingMessage, secure: boolean, trusted: CidrSet): Forwarded {
  const peer = unmapIPv4(req.socket.remoteAddress ?? '');
  const proto = secure ? 'https' : 'http';
  const port = String(req.socket.localPort ?? '');
  const host = req.headers.host ?? '';
  if (!trusted.has(peer)) return { for: peer, proto, host, port, realIp: peer };
  const h = req.headers;
  const incoming = single(h['x-forwarded-for']);
  return {
    for: incoming ? `${incoming}, ${peer}` : peer,
    proto: single(h['x-forwarded-proto']) || proto,
    host: single(h['x-forwarded-host']) || host,
    port: single(h['x-forwarded-port']) || port,
    realIp: incoming ? clientFromChain(incoming, trusted) : peer,
  };
}

/**
 * The client is the right-most address of the chain that is not a trusted proxy (each trusted hop appends
 * the peer it saw); if every hop is trusted, the left-most one.
 */
function clientFromChain(chain: string, trusted: CidrSet): string {
  const parts = chain.split(',');
  for (let i = parts.length - 1; i >= 0; i--) {
    const a = (parts[i] as string).trim();
    if (a && !trusted.has(a)) return a;
  }
  return (parts[0] as string).trim();
}

function single(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Appends the forwarded headers to a flat [name, value, ...] header list (undici's raw form). */
export function pushForwarded(out: string[], f: Forwarded): void {
  out.push(
    'x-forwarded-for',
    f.for,
    'x-forwarded-proto',
    f.proto,
    'x-forwarded-host',
    f.host,
    'x-forwarded-port',
    f.port,
    'x-real-ip',
    f.realIp,
  );
}
