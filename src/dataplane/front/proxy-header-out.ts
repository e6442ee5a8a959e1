import { isIPv4, isIPv6, type Socket } from 'node:net';
import { unmapIPv4 } from './cidr.ts';
import { originalDestination } from './proxy-accept.ts';

/**
 * The PROXY protocol header we send to a backend (HAProxy's proxy-protocol.txt, versions 1 and 2) before the
 * first byte of a connection that carries one client only: a passthrough relay or a WebSocket tunnel. The
 * source is the client address (the one a PROXY header on our listener gave, else the socket peer), the
 * destination what the client connected to. Whatever the client sends comes after it, so a PROXY-looking
 * payload from the client is only ever data to the backend.
 */

/** Which header a backend receives (`proxy-protocol-upstream`). */
export type UpstreamProxyVersion = 1 | 2;

/** Both ends of the client's connection, as the backend should see them. */
export interface ConnectionEnds {
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly destinationAddress: string;
  readonly destinationPort: number;
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** PP2_TYPE_AUTHORITY (spec 2.2.1): the host name the client asked for (SNI or Host). */
const PP2_TYPE_AUTHORITY = 0x02;
/** A DNS name is at most 253 octets; anything longer is not a name and is left out. */
const MAX_AUTHORITY = 255;

/** The ends of `client`'s connection, or undefined when the socket no longer knows them (already closed). */
export function connectionEnds(client: Socket): ConnectionEnds | undefined {
  const dst = originalDestination(client);
  const sourceAddress = client.remoteAddress;
  const sourcePort = client.remotePort;
  if (dst === undefined || sourceAddress === undefined || sourcePort === undefined) return undefined;
  return { sourceAddress, sourcePort, destinationAddress: dst.address, destinationPort: dst.port };
}

/** The header for `client` (see connectionEnds); `authority` goes in a v2 AUTHORITY TLV. */
export function proxyHeaderFor(version: UpstreamProxyVersion, client: Socket, authority?: string): Buffer {
  return encodeProxyHeader(version, connectionEnds(client), authority);
}

/**
 * Encodes one header. Unknown ends give v1 `PROXY UNKNOWN` / v2 LOCAL, which tell the backend to use the
 * connection's own peer (spec 2.1, 2.2). IPv4-mapped IPv6 addresses are sent as IPv4; an IPv4 end next to
 * an IPv6 one is mapped, since one header has one family.
 */
export function encodeProxyHeader(
  version: UpstreamProxyVersion,
  ends: ConnectionEnds | undefined,
  authority?: string,
): Buffer {
  const pair = ends === undefined ? undefined : family(ends.sourceAddress, ends.destinationAddress);
  if (version === 1) {
    if (ends === undefined || pair === undefined) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
    const proto = pair.v6 ? 'TCP6' : 'TCP4';
    const line = `PROXY ${proto} ${pair.src} ${pair.dst} ${ends.sourcePort} ${ends.destinationPort}\r\n`;
    return Buffer.from(line, 'latin1');
  }
  if (ends === undefined || pair === undefined) {
    // LOCAL over UNSPEC, no address block: the receiver keeps the real peer.
    return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  }
  const addresses = pair.v6
    ? Buffer.concat([ipv6Bytes(pair.src), ipv6Bytes(pair.dst), ports(ends)])
    : Buffer.concat([ipv4Bytes(pair.src), ipv4Bytes(pair.dst), ports(ends)]);
  const tlvs = authorityTlv(authority);
  const head = Buffer.alloc(16);
  V2_SIGNATURE.copy(head);
  head[12] = 0x21; // version 2, PROXY
  head[13] = pair.v6 ? 0x21 : 0x11; // AF_INET6 / AF_INET, STREAM
  head.writeUInt16BE(addresses.length + tlvs.length, 14);
  return Buffer.concat([head, addresses, tlvs]);
}

function family(src: string, dst: string): { v6: boolean; src: string; dst: string } | undefined {
  const s = unmapIPv4(src);
  const d = unmapIPv4(dst);
  const s4 = isIPv4(s);
  const d4 = isIPv4(d);
  if ((!s4 && !isIPv6(s)) || (!d4 && !isIPv6(d))) return undefined;
  if (s4 && d4) return { v6: false, src: s, dst: d };
  return { v6: true, src: s4 ? `::ffff:${s}` : s, dst: d4 ? `::ffff:${d}` : d };
}

function ports(ends: ConnectionEnds): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(ends.sourcePort, 0);
  b.writeUInt16BE(ends.destinationPort, 2);
  return b;
}

function authorityTlv(authority: string | undefined): Buffer {
  if (authority === undefined || authority === '') return Buffer.alloc(0);
  const value = Buffer.from(authority, 'latin1');
  if (value.length > MAX_AUTHORITY) return Buffer.alloc(0);
  const tlv = Buffer.alloc(3 + value.length);
  tlv[0] = PP2_TYPE_AUTHORITY;
  tlv.writeUInt16BE(value.length, 1);
  value.copy(tlv, 3);
  return tlv;
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

/** 16 bytes of an IPv6 literal (node's isIPv6 has validated it): `::` expanded, a dotted IPv4 tail kept. */
function ipv6Bytes(address: string): Buffer {
  const out = Buffer.alloc(16);
  let text = address.split('%')[0] as string;
  const tail = text.lastIndexOf(':');
  const dotted = text.slice(tail + 1);
  let v4: Buffer | undefined;
  if (dotted.includes('.')) {
    v4 = ipv4Bytes(dotted);
    text = `${text.slice(0, tail + 1)}0:0`;
  }
  const [left = '', right] = text.split('::') as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const head = groups(left);
  const rest = right === undefined ? [] : groups(right);
  const all = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  for (let i = 0; i < 8; i++) out.writeUInt16BE(all[i] as number, i * 2);
  if (v4 !== undefined) v4.copy(out, 12);
  return out;
}
