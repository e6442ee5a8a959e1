import { isIPv4, isIPv6 } from 'node:net';

/**
 * The one CIDR parser both sides use: the controller validates source-range annotations and StickyRoute fields
 * with it, the dataplane compiles them into a BlockList with it. Pure, no imports of ours.
 */

/** A parsed CIDR: the network address, its prefix length and family. */
export interface Cidr {
  address: string;
  prefix: number;
  type: 'ipv4' | 'ipv6';
}

/** `ADDRESS` (a /32 or /128) or `ADDRESS/PREFIX`, IPv4 or IPv6, surrounding spaces ignored; undefined if not one. */
export function parseCidr(raw: string): Cidr | undefined {
  const cidr = raw.trim();
  const slash = cidr.indexOf('/');
  const address = slash === -1 ? cidr : cidr.slice(0, slash);
  const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (type === undefined) return undefined;
  const max = type === 'ipv4' ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : cidr.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max) return undefined;
  return { address, prefix, type };
}

/**
 * A comma-separated list (ingress-nginx's `whitelist-source-range` format) -> trimmed entries, or the entries
 * that are not CIDRs. Empty entries are skipped; an empty list is valid (no entries).
 */
export function parseCidrList(text: string): { cidrs: string[] } | { invalid: string[] } {
  const cidrs = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const invalid = cidrs.filter((c) => parseCidr(c) === undefined);
  return invalid.length > 0 ? { invalid } : { cidrs };
}
