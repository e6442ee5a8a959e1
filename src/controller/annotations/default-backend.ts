import { z } from 'zod';
import type { AnnotationGroup } from './descriptor.ts';

/**
 * ingress-nginx `default-backend`: a Service of the Ingress's own namespace (its first port) that answers the
 * paths no rule of the Ingress's hosts matches, and the paths whose Service has no ready endpoint.
 */
export const defaultBackendGroup = {
  name: 'default backend',
  schema: z.object({
    // RFC 1035 label (a Service name): no `namespace/` prefix, so never another tenant's Service.
    'default-backend': z
      .string()
      .regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a Service name')
      .optional(),
  }),
  descriptors: [
    {
      key: 'default-backend',
      nginx: true,
      values: "a Service name of the Ingress's namespace",
      default: 'none',
      description:
        "The Service (its first port) that answers requests on the Ingress's hosts that no path matches, and requests for a path whose Service has no ready endpoint. Another namespace's Service cannot be named; an invalid name refuses the Ingress, a missing Service is reported and changes nothing.",
      risk: 'Medium',
      refuseInvalid: true,
      differs: 'custom-http-errors (error pages from this Service) is not served yet and refuses the Ingress',
    },
  ],
} satisfies AnnotationGroup<z.ZodObject>;
