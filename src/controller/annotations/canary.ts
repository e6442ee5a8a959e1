import { z } from 'zod';
import { compileRegex } from '../../snapshot/regex/vm.ts';
import { type AnnotationGroup, boolString, uint } from './descriptor.ts';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/; // RFC 9110 token: a header or cookie name

/** How canary header patterns are matched: the first match anywhere in the value, case-sensitive (PCRE default). */
export const HEADER_PATTERN_OPTIONS = { caseInsensitive: false, anchored: false } as const;

/**
 * Canary Ingresses (ingress-nginx `canary-*`): an Ingress with `canary: "true"` never serves a path on its own;
 * it becomes the second backend of the main Ingress's route with the same host and path.
 */
export const canaryGroup = {
  name: 'canary',
  schema: z.object({
    canary: boolString.default(false),
    'canary-weight': uint(0, 1_000_000).default(0),
    'canary-weight-total': uint(1, 1_000_000).default(100),
    'canary-by-header': z.string().regex(TOKEN).optional(),
    'canary-by-header-value': z
      .string()
      .regex(/^[\x21-\x7e][\x20-\x7e]{0,255}$/)
      .optional(),
    'canary-by-header-pattern': z
      .string()
      .max(256)
      .refine((p) => !(compileRegex(p, HEADER_PATTERN_OPTIONS) instanceof Error))
      .optional(),
    'canary-by-cookie': z.string().regex(TOKEN).optional(),
    'affinity-canary-behavior': z.enum(['sticky', 'legacy']).default('sticky'),
  }),
  descriptors: [
    {
      key: 'canary',
      nginx: true,
      values: 'true, false',
      default: 'false',
      description:
        'This Ingress is a canary: its paths attach to the main Ingress route of the same host and path and take only the requests the rules below send them; it never takes a path over. Without a main route it serves nothing (CanaryWithoutMain).',
      risk: 'High',
      refuseInvalid: true,
    },
    {
      key: 'canary-weight',
      nginx: true,
      values: 'an integer, 0 to canary-weight-total',
      default: '0',
      description:
        'Share of the remaining requests sent to the canary: weight out of canary-weight-total; 0 sends none.',
      risk: 'High',
      refuseInvalid: true,
    },
    {
      key: 'canary-weight-total',
      nginx: true,
      values: 'an integer, 1 to 1000000',
      default: '100',
      description: 'Total of canary-weight.',
      risk: 'High',
      refuseInvalid: true,
    },
    {
      key: 'canary-by-header',
      nginx: true,
      values: 'a header name',
      default: 'none',
      description:
        'A request with this header set to `always` goes to the canary, `never` to the main backend; other values fall through to the cookie and the weight.',
      risk: 'High',
      refuseInvalid: true,
    },
    {
      key: 'canary-by-header-value',
      nginx: true,
      values: 'a header value',
      default: 'none',
      description: 'With canary-by-header: this value (instead of `always`) sends the request to the canary.',
      risk: 'High',
      refuseInvalid: true,
    },
    {
      key: 'canary-by-header-pattern',
      nginx: true,
      values: 'a regular expression (linear-time subset: no backreferences or lookaround)',
      default: 'none',
      description:
        'With canary-by-header and without canary-by-header-value: a header value matching it sends the request to the canary.',
      risk: 'High',
      differs: 'PCRE features that need backtracking are refused, not treated as non-matching',
      refuseInvalid: true,
    },
    {
      key: 'canary-by-cookie',
      nginx: true,
      values: 'a cookie name',
      default: 'none',
      description:
        'A cookie with this name set to `always` sends the request to the canary, `never` to the main backend.',
      risk: 'High',
      refuseInvalid: true,
    },
    {
      key: 'affinity-canary-behavior',
      nginx: true,
      values: 'sticky, legacy',
      default: 'sticky',
      description:
        'sticky: a client whose affinity cookie pins it to a canary endpoint stays on the canary, and one pinned to the main backend stays there; legacy: the weight is rolled on every request.',
      risk: 'Medium',
      refuseInvalid: true,
    },
  ],
} satisfies AnnotationGroup<z.ZodObject>;

/** Typed result of the canary group. */
export type CanaryAnnotations = z.output<typeof canaryGroup.schema>;
