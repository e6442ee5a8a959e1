import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { parseCidr } from '../../shared/cidr.ts';
import { InvalidCidrError } from '../../shared/errors.ts';

/**
 * A precompiled set of IPv4/IPv6 CIDRs (node's native BlockList). `has()` answers whether a peer address is
 * inside; IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`, what a dual-stack socket reports) match IPv4 ranges.
 */
export class CidrSet {
  #list = new BlockList();
  #size = 0;

  /** Throws InvalidCidrError (STICKY_ERR_OPTION_CIDR) for any entry that is not ADDRESS or ADDRESS/PREFIX. */
  constructor(cidrs: readonly string[]) {
    for (const raw of cidrs) {
      const cidr = parseCidr(raw);
      if (cidr === undefined) throw new InvalidCidrError(raw);
      this.#list.addSubnet(cidr.address, cidr.prefix, cidr.type);
      this.#size++;
    }
  }

  /** Number of entries; 0 means nothing is trusted and `has()` is always false. */
  get size(): number {
    return this.#size;
  }

  /** Whether `address` (as reported by socket.remoteAddress) lies in one of the CIDRs. */
  has(address: string | undefined): boolean {
    if (this.#size === 0 || !address) return false;
    const plain = unmapIPv4(address);
    if (isIPv4(plain)) return this.#list.check(plain, 'ipv4');
    return isIPv6(plain) && this.#list.check(plain, 'ipv6');
  }
}

/** `::ffff:1.2.3.4` -> `1.2.3.4`; anything else unchanged. */
export function unmapIPv4(address: string): string {
  return address.length > 7 && address.startsWith('::ffff:') && address.includes('.')
    ? address.slice(7)
    : address;
}
