import { FORWARDED_HEADERS } from '../front/forwarded.ts';

/**
 * Header names a proxy must not relay (RFC 9110 7.6.1 and 11.7: connection-specific fields, Upgrade and the
 * Proxy-* authentication fields), in the variants the HTTP and Upgrade paths need. Lower case.
 */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
];

/** Response fields never relayed to the client (HTTP responses and non-101 answers to an Upgrade). */
export const RESPONSE_SKIP: ReadonlySet<string> = new Set(HOP_BY_HOP);

/**
 * Request fields never relayed upstream on the HTTP path: hop-by-hop, the X-Forwarded-* set the proxy
 * owns, and Expect (node already answered `100 Continue` to the client; undici does not support it).
 */
export const HTTP_REQUEST_SKIP: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'expect',
  ...FORWARDED_HEADERS,
]);

/** Request fields never relayed on an Upgrade: as above; Connection and Upgrade are re-set (ws-head.ts). */
export const UPGRADE_REQUEST_SKIP: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...FORWARDED_HEADERS]);
