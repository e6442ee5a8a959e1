import { BlockList, isIPv4 } from 'node:net';

/**
 * Addresses no Pod can have, the CVE-2021-25740 class: an EndpointSlice is writable by tenants, so a slice that
 * lists the node's loopback, a link-local address (169.254.169.254 is the cloud metadata service) or a multicast
 * group would make the ingress proxy to something that is not a Pod. ingress-nginx and Contour filter these too.
 * IPv4 rules also match IPv4-mapped IPv6 (`::ffff:127.0.0.1`); node's BlockList maps them.
 */
const NEVER_POD = rules([
  ['0.0.0.0', 8, 'ipv4', 'unspecified'], // RFC 1122 3.2.1.3 "this network"
  ['169.254.0.0', 16, 'ipv4', 'link-local'], // RFC 3927
  ['224.0.0.0', 4, 'ipv4', 'multicast'], // RFC 5771
  ['255.255.255.255', 32, 'ipv4', 'broadcast'], // RFC 919
  ['::', 128, 'ipv6', 'unspecified'], // RFC 4291 2.5.2
  ['fe80::', 10, 'ipv6', 'link-local'], // RFC 4291 2.5.6
  ['ff00::', 8, 'ipv6', 'multicast'], // RFC 4291 2.7
]);
const LOOPBACK = rules([
  ['127.0.0.0', 8, 'ipv4', 'loopback'], // RFC 1122 3.2.1.3
  ['::1', 128, 'ipv6', 'loopback'], // RFC 4291 2.5.3
]);

const ANY_NON_POD = [...LOOPBACK, ...NEVER_POD];

type Rule = [address: string, prefix: number, type: 'ipv4' | 'ipv6', what: string];

function rules(list: Rule[]): { what: string; set: BlockList }[] {
  return list.map(([address, prefix, type, what]) => {
    const set = new BlockList();
    set.addSubnet(address, prefix, type);
    return { what, set };
  });
}

/**
 * Why `address` (an IP literal) cannot be a Pod's, e.g. `loopback`; undefined when it can. Loopback counts as
 * possible only with `allowLoopback` (standalone mode, where manifests legitimately name local backends).
 */
export function nonPodAddress(address: string, allowLoopback: boolean): string | undefined {
  const type = isIPv4(address) ? 'ipv4' : 'ipv6';
  const lists = allowLoopback ? NEVER_POD : ANY_NON_POD;
  return lists.find((r) => r.set.check(address, type))?.what;
}
