import { z } from 'zod';
import { boolString, defineGroup } from './descriptor.ts';

/**
 * SSL passthrough (TLS for the Ingress's hosts is relayed to the backend instead of terminated), and the PROXY
 * protocol header sent to the backend on the connections that carry one client: relays and WebSocket tunnels.
 */
export const passthroughGroup = defineGroup({
  name: 'passthrough',
  schema: z.object({
    'ssl-passthrough': boolString.default(false),
    'proxy-protocol-upstream': z.enum(['off', 'v1', 'v2']).default('off'),
  }),
  descriptors: [
    {
      key: 'ssl-passthrough',
      nginx: true,
      values: 'true, false',
      description:
        "Do not terminate TLS for the Ingress's hosts: the HTTPS listener reads the ClientHello's SNI and relays the raw connection to the backend of the host's `/` path (or its first path), which presents its own certificate. Clients stick to an endpoint by source address (consistent hash). Paths, cookies, headers and access lists cannot apply to bytes that are never decrypted; the plain HTTP listener still serves the rules.",
      risk: 'Medium',
    },
    {
      key: 'proxy-protocol-upstream',
      nginx: false,
      values: 'off, v1, v2',
      description:
        'Send a PROXY protocol header (HAProxy proxy-protocol.txt) first on every SSL-passthrough relay and WebSocket tunnel to the backend: the client address (the one PROXY protocol on our listener carried, else the socket peer) and the address it connected to; v2 adds the SNI or Host as an AUTHORITY TLV. Plain HTTP requests share keep-alive connections between clients and carry no header (they carry X-Forwarded-For): the backend must accept connections without one.',
      risk: 'Medium',
      refuseInvalid: true,
    },
  ],
});

/** `proxy-protocol-upstream` as the snapshot's Backend.proxyProtocol (undefined: off). */
export function upstreamProxyVersion(value: 'off' | 'v1' | 'v2'): 1 | 2 | undefined {
  return value === 'v1' ? 1 : value === 'v2' ? 2 : undefined;
}
