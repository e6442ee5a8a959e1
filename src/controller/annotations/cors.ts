import { z } from 'zod';
import { type AnnotationGroup, boolString, uint } from './descriptor.ts';

/** ingress-nginx's CORS defaults (its annotations documentation, "Enable CORS"). */
export const CORS_DEFAULTS = {
  methods: 'GET, PUT, POST, DELETE, PATCH, OPTIONS',
  headers:
    'DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Authorization',
  maxAge: 1_728_000,
} as const;

// `*`, or a comma-separated list of http(s) origins; the first label of a host may be `*` (one label).
const ORIGIN = /^https?:\/\/(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$/;
const ORIGINS = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== ''),
  )
  .pipe(z.array(z.string()).min(1).max(64))
  .refine((list) => list.every((o) => o === '*' || ORIGIN.test(o)), 'origins');

/** Cross-origin resource sharing answered at the edge (ingress-nginx `enable-cors` and `cors-*`). */
export const corsGroup = {
  name: 'cors',
  schema: z.object({
    'enable-cors': boolString.default(false),
    'cors-allow-origin': ORIGINS.default(['*']),
    'cors-allow-methods': z
      .string()
      .regex(/^[A-Za-z]+(\s*,\s*[A-Za-z]+)*$/)
      .default(CORS_DEFAULTS.methods),
    'cors-allow-headers': z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\s*,\s*[A-Za-z0-9_-]+)*$/)
      .default(CORS_DEFAULTS.headers),
    'cors-expose-headers': z
      .string()
      .regex(/^(\*|[A-Za-z0-9_-]+(\s*,\s*[A-Za-z0-9_-]+)*)$/)
      .optional(),
    'cors-allow-credentials': boolString.default(true),
    'cors-max-age': uint(0, 315_360_000).default(CORS_DEFAULTS.maxAge),
  }),
  descriptors: [
    {
      key: 'enable-cors',
      nginx: true,
      values: 'true, false',
      default: 'false',
      description:
        'Answer CORS preflights (OPTIONS) with 204 at the edge and add the Access-Control-* headers to every response of a matching Origin.',
      risk: 'Medium',
    },
    {
      key: 'cors-allow-origin',
      nginx: true,
      values: '`*` or a comma-separated list of http(s) origins, `https://*.example.com` allowed',
      default: '*',
      description:
        'Origins allowed. With a list, the request Origin is echoed when it is in it, and no CORS header is sent otherwise.',
      risk: 'Medium',
      refuseInvalid: true,
    },
    {
      key: 'cors-allow-methods',
      nginx: true,
      values: 'comma-separated methods',
      default: CORS_DEFAULTS.methods,
      description: 'Access-Control-Allow-Methods.',
      risk: 'Low',
    },
    {
      key: 'cors-allow-headers',
      nginx: true,
      values: 'comma-separated header names',
      default: CORS_DEFAULTS.headers,
      description: 'Access-Control-Allow-Headers.',
      risk: 'Low',
    },
    {
      key: 'cors-expose-headers',
      nginx: true,
      values: 'comma-separated header names, or *',
      default: 'none',
      description: 'Access-Control-Expose-Headers.',
      risk: 'Low',
    },
    {
      key: 'cors-allow-credentials',
      nginx: true,
      values: 'true, false',
      default: 'true',
      description: 'Access-Control-Allow-Credentials: true.',
      risk: 'Medium',
    },
    {
      key: 'cors-max-age',
      nginx: true,
      values: 'whole seconds',
      default: String(CORS_DEFAULTS.maxAge),
      description: 'Access-Control-Max-Age of preflight answers.',
      risk: 'Low',
    },
  ],
} satisfies AnnotationGroup<z.ZodObject>;

/** Typed result of the cors group. */
export type CorsAnnotations = z.output<typeof corsGroup.schema>;
