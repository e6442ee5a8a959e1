import type { IncomingMessage } from 'node:http';
import type { CidrSet } from './cidr.ts';
import { unmapIPv4 } from './cidr.ts';

/**
 * X-Forwarded-For/-Proto/-Host/-Port, X-Real-IP and Forwarded (RFC 7239) for the upstream request. Incoming
 * values are kept only when the TCP peer is a trusted proxy; otherwise X-Forwarded-* are replaced and
 * Forwarded is dropped, so a client cannot spoof its address or scheme by default.
 */
export interface Forwarded {
  for: string;
  proto: string;
  host: string;
  port: string;
  realIp: string;
  /** RFC 7239 Forwarded to send: a trusted peer's list extended with this hop; undefined (none) otherwise. */
  forwarded: string | undefined;
}

/** Names of the request headers this module owns; the proxy drops the client's copies of them. */
export const FORWARDED_HEADERS: ReadonlySet<string> = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  // RFC 7239: the standard form of the same claims; a backend believing `for=` from anyone is as spoofable.
  'forwarded',
]);

/**
 * Computes the forwarded values for `req` arriving on a listener (`secure` = HTTPS); `publicPort` is the port
 * the client connected to (the Service's), not the listen port behind it.
 */
export function forwardedFor(
  req: IncomingMessage,
  secure: boolean,
  trusted: CidrSet,
  publicPort: number,
): Forwarded {
  const peer = unmapIPv4(req.socket.remoteAddress ?? '');
  const proto = secure ? 'https' : 'http';
  const port = String(publicPort);
  const host = req.headers.host ?? '';
  if (!trusted.has(peer)) return { for: peer, proto, host, port, realIp: peer, forwarded: undefined };
  const h = req.headers;
  const incoming = single(h['x-forwarded-for']);
  const chain = single(h.forwarded);
  return {
    // RFC 7239 section 4: a proxy appends its own element to the list it received.
    forwarded: chain ? `${chain}, ${forwardedElement(peer, host, proto)}` : undefined,
    for: incoming ? `${incoming}, ${peer}` : peer,
    proto: single(h['x-forwarded-proto']) || proto,
    host: single(h['x-forwarded-host']) || host,
    port: single(h['x-forwarded-port']) || port,
    realIp: incoming ? clientFromChain(incoming, trusted) : peer,
  };
}

/** One RFC 7239 forwarded-element for this hop; IPv6 nodes and hosts with a port are quoted (section 6). */
function forwardedElement(peer: string, host: string, proto: string): string {
  const node = peer.includes(':') ? `"[${peer}]"` : peer;
  const h = /^[a-z0-9.-]+$/i.test(host) ? host : `"${host.replace(/["\\]/g, '')}"`;
  return `for=${node};host=${h};proto=${proto}`;
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
  if (f.forwarded !== undefined) out.push('forwarded', f.forwarded);
}
