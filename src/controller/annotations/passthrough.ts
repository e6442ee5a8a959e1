import { z } from 'zod';
import { boolString, defineGroup } from './descriptor.ts';

/** SSL passthrough: TLS for the Ingress's hosts is relayed to the backend instead of terminated. */
export const passthroughGroup = defineGroup({
  name: 'passthrough',
  schema: z.object({
    'ssl-passthrough': boolString.default(false),
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
  ],
});
