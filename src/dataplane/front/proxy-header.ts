import { isIPv4, isIPv6 } from 'node:net';

/**
 * An incremental parser of the PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) as it
 * arrives on a raw TCP socket, possibly one byte at a time. Bounded: a v1 line is at most 107 bytes (spec 2.1),
 * a v2 header at most 16 + MAX_V2_PAYLOAD bytes, and a prefix that matches neither signature is refused at the
 * first diverging byte, so nothing is buffered for a sender that is not speaking the protocol.
 */

/** The client the header names; `local` when the header says the connection is the proxy's own (health check). */
export interface ProxyHeader {
  readonly version: 1 | 2;
  /** True for v2 LOCAL and v1 UNKNOWN: keep the real peer address (spec 2.1, 2.2). */
  readonly local: boolean;
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly family: 'IPv4' | 'IPv6' | undefined;
}

/** Why a header was refused; stable words used as metric labels. */
export type ProxyHeaderError = 'malformed' | 'oversize';

/** One push's outcome: need more bytes, done (with the bytes after the header), absent, or refused. */
export type ParseStep =
  | { readonly state: 'more' }
  | { readonly state: 'done'; readonly header: ProxyHeader; readonly rest: Buffer }
  | { readonly state: 'absent'; readonly data: Buffer }
  | { readonly state: 'error'; readonly error: ProxyHeaderError };

const V1_PREFIX = Buffer.from('PROXY ');
const V1_MAX = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/**
 * Address block plus TLVs. Cloud balancers send a few dozen bytes of TLVs (AWS VPC endpoint id, GCP PSC id);
 * the 16-bit length field would allow 64 KiB per connection before a single byte of HTTP.
 */
export const MAX_V2_PAYLOAD = 1024;

/** Parses one connection's header; feed every chunk to push() until it returns something other than `more`. */
export class ProxyHeaderParser {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): ParseStep {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const b = this.#buffer;
    const v1 = prefixMatch(b, V1_PREFIX);
    const v2 = prefixMatch(b, V2_SIGNATURE);
    if (v1 === 'no' && v2 === 'no') return { state: 'absent', data: b };
    if (v1 === 'full') return parseV1(b);
    if (v2 === 'full') return parseV2(b);
    return { state: 'more' };
  }
}

function prefixMatch(b: Buffer, sig: Buffer): 'no' | 'partial' | 'full' {
  const n = Math.min(b.length, sig.length);
  for (let i = 0; i < n; i++) if (b[i] !== sig[i]) return 'no';
  return n === sig.length ? 'full' : 'partial';
}

function parseV1(b: Buffer): ParseStep {
  const end = b.indexOf('\r\n');
  if (end === -1) return b.length >= V1_MAX ? { state: 'error', error: 'oversize' } : { state: 'more' };
  if (end + 2 > V1_MAX) return { state: 'error', error: 'oversize' };
  const line = b.toString('latin1', 0, end);
  const rest = b.subarray(end + 2);
  const parts = line.split(' ');
  // "PROXY UNKNOWN" may carry anything after it; the receiver must ignore it and use the real peer (2.1).
  if (parts[1] === 'UNKNOWN') return done({ version: 1, local: true, ...NO_ADDRESS }, rest);
  if (parts.length !== 6) return { state: 'error', error: 'malformed' };
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const check = proto === 'TCP4' ? isIPv4 : proto === 'TCP6' ? isIPv6 : undefined;
  if (check === undefined || !check(src) || !check(dst)) return { state: 'error', error: 'malformed' };
  const sourcePort = v1Port(sport);
  if (sourcePort === undefined || v1Port(dport) === undefined) return { state: 'error', error: 'malformed' };
  const family = proto === 'TCP4' ? 'IPv4' : 'IPv6';
  return done({ version: 1, local: false, sourceAddress: src, sourcePort, family }, rest);
}

/** Decimal 0..65535 without leading zeros or signs (spec 2.1: "5 digits at most"). */
function v1Port(s: string): number | undefined {
  if (!/^(0|[1-9]\d{0,4})$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

const NO_ADDRESS = { sourceAddress: '', sourcePort: 0, family: undefined } as const;

function parseV2(b: Buffer): ParseStep {
  if (b.length < 16) return { state: 'more' };
  const verCmd = b[12] as number;
  if (verCmd >> 4 !== 2) return { state: 'error', error: 'malformed' };
  const command = verCmd & 0x0f;
  if (command > 1) return { state: 'error', error: 'malformed' };
  const length = b.readUInt16BE(14);
  if (length > MAX_V2_PAYLOAD) return { state: 'error', error: 'oversize' };
  if (b.length < 16 + length) return { state: 'more' };
  const payload = b.subarray(16, 16 + length);
  const rest = b.subarray(16 + length);
  const famProto = b[13] as number;
  const family = famProto >> 4;
  const addressBytes = family === 1 ? 12 : family === 2 ? 36 : family === 3 ? 216 : 0;
  if (family > 3 || (famProto & 0x0f) > 2 || payload.length < addressBytes) {
    return { state: 'error', error: 'malformed' };
  }
  if (!validTlvs(payload.subarray(addressBytes))) return { state: 'error', error: 'malformed' };
  // LOCAL (the proxy's own health check), UNSPEC, AF_UNIX and DGRAM: keep the real peer (spec 2.2).
  if (command === 0 || family === 0 || family === 3 || (famProto & 0x0f) !== 1) {
    return done({ version: 2, local: true, ...NO_ADDRESS }, rest);
  }
  if (family === 1) {
    const sourceAddress = `${payload[0]}.${payload[1]}.${payload[2]}.${payload[3]}`;
    return done(
      { version: 2, local: false, sourceAddress, sourcePort: payload.readUInt16BE(8), family: 'IPv4' },
      rest,
    );
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(payload.readUInt16BE(i).toString(16));
  const sourceAddress = compressIPv6(groups);
  return done(
    { version: 2, local: false, sourceAddress, sourcePort: payload.readUInt16BE(32), family: 'IPv6' },
    rest,
  );
}

/** Each TLV (type, 16-bit length, value) must end exactly at the end of the payload (spec 2.2.7). */
function validTlvs(tlvs: Buffer): boolean {
  let at = 0;
  // Bounded: each step advances at least 3 bytes over at most MAX_V2_PAYLOAD bytes.
  while (at < tlvs.length) {
    if (at + 3 > tlvs.length) return false;
    at += 3 + tlvs.readUInt16BE(at + 1);
  }
  return at === tlvs.length;
}

/** RFC 5952 text form (longest run of zero groups as `::`), the form socket.remoteAddress reports. */
function compressIPv6(groups: string[]): string {
  // IPv4-mapped (::ffff:a.b.c.d) keeps the dotted tail, as node reports it, so IPv4 CIDRs still match.
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') {
    const hi = Number.parseInt(groups[6] as string, 16);
    const lo = Number.parseInt(groups[7] as string, 16);
    return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best === -1) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function done(header: ProxyHeader, rest: Buffer): ParseStep {
  return { state: 'done', header, rest };
}
