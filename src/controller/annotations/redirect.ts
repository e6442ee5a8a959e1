import { z } from 'zod';
import { boolString, defineGroup, uint } from './descriptor.ts';

/** HTTP->HTTPS redirects and HSTS. HSTS is off by default: once a browser has seen it, it cannot be undone. */
export const redirectGroup = defineGroup({
  name: 'redirect',
  schema: z.object({
    'ssl-redirect': boolString.default(true),
    'force-ssl-redirect': boolString.default(false),
    hsts: boolString.default(false),
    'hsts-max-age': uint(0, 63_072_000).default(31_536_000),
    'hsts-include-subdomains': boolString.default(false),
    'hsts-preload': boolString.default(false),
  }),
  descriptors: [
    {
      key: 'ssl-redirect',
      nginx: true,
      values: 'true, false',
      description:
        'Redirect HTTP to HTTPS (308) for hosts listed under spec.tls, even when their Secret is missing (the default certificate serves them).',
      risk: 'Low',
    },
    {
      key: 'force-ssl-redirect',
      nginx: true,
      values: 'true, false',
      description:
        'Redirect HTTP to HTTPS (308) also for hosts without TLS (e.g. TLS ends at a load balancer).',
      risk: 'Low',
    },
    {
      key: 'hsts',
      nginx: false,
      values: 'true, false',
      description:
        'Send Strict-Transport-Security on HTTPS responses. Off by default, unlike ingress-nginx (whose HSTS is a ConfigMap setting, not an annotation): browsers cache it for max-age and it cannot be withdrawn.',
      risk: 'Medium',
    },
    {
      key: 'hsts-max-age',
      nginx: false,
      values: 'whole seconds, 0 to 63072000',
      description: 'max-age of the HSTS header.',
      risk: 'Medium',
    },
    {
      key: 'hsts-include-subdomains',
      nginx: false,
      values: 'true, false',
      description: 'Add includeSubDomains to the HSTS header.',
      risk: 'Medium',
    },
    {
      key: 'hsts-preload',
      nginx: false,
      values: 'true, false',
      description: 'Add preload to the HSTS header.',
      risk: 'High',
    },
  ],
});

/** Typed result of the redirect group. */
export type RedirectAnnotations = z.output<typeof redirectGroup.schema>;
