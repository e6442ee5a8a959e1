import { z } from 'zod';
import { type AnnotationGroup, boolString } from './descriptor.ts';

// An absolute http(s) URL or a path; printable ASCII, no spaces or quotes (it becomes a Location header).
const TARGET =
  /^(https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?)?\/[!#-[\]-~]{0,2047}$|^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;
const CODE = z
  .enum(['301', '302', '303', '307', '308'])
  .transform((v) => Number(v) as 301 | 302 | 303 | 307 | 308);

/** Redirects answered at the edge (ingress-nginx `permanent-redirect`, `temporal-redirect`, `from-to-www`). */
export const urlRedirectGroup = {
  name: 'url redirects',
  schema: z.object({
    'permanent-redirect': z.string().regex(TARGET).optional(),
    'permanent-redirect-code': CODE.default(301),
    'temporal-redirect': z.string().regex(TARGET).optional(),
    'temporal-redirect-code': CODE.default(302),
    'from-to-www-redirect': boolString.default(false),
  }),
  descriptors: [
    {
      key: 'permanent-redirect',
      nginx: true,
      values: 'an http(s) URL or a path',
      default: 'none',
      description: 'Every request on the Ingress is answered with a redirect to this URL (301 by default).',
      risk: 'Medium',
      refuseInvalid: true,
    },
    {
      key: 'permanent-redirect-code',
      nginx: true,
      values: '301, 302, 303, 307, 308',
      default: '301',
      description: 'Status of permanent-redirect.',
      risk: 'Low',
    },
    {
      key: 'temporal-redirect',
      nginx: true,
      values: 'an http(s) URL or a path',
      default: 'none',
      description:
        'Every request on the Ingress is answered with a redirect to this URL (302 by default); permanent-redirect wins when both are set, as in ingress-nginx.',
      risk: 'Medium',
      refuseInvalid: true,
    },
    {
      key: 'temporal-redirect-code',
      nginx: true,
      values: '301, 302, 303, 307, 308',
      default: '302',
      description: 'Status of temporal-redirect.',
      risk: 'Low',
    },
    {
      key: 'from-to-www-redirect',
      nginx: true,
      values: 'true, false',
      default: 'false',
      description:
        'Requests for `www.<host>` are redirected (308) to `<host>`, and for `<host>` to `www.<host>` when the rule names the www host. A host some Ingress serves is never taken over.',
      risk: 'Low',
    },
  ],
} satisfies AnnotationGroup<z.ZodObject>;

/** Typed result of the url-redirect group. */
export type UrlRedirectAnnotations = z.output<typeof urlRedirectGroup.schema>;
