import { z } from 'zod';
import { compileRegex } from '../../snapshot/regex/vm.ts';
import { type AnnotationGroup, boolString } from './descriptor.ts';

// A path: printable ASCII without spaces, quotes or backslashes (RFC 3986 path characters, `$` for captures).
const PATH = /^\/[!#-[\]-~]{0,1023}$/;

/** Path rewriting and regex paths (ingress-nginx `rewrite`, `use-regex`, `app-root`, `x-forwarded-prefix`). */
export const rewriteGroup = {
  name: 'rewrite',
  schema: z.object({
    'rewrite-target': z.string().regex(PATH).optional(),
    'use-regex': boolString.default(false),
    'app-root': z.string().regex(PATH).optional(),
    'x-forwarded-prefix': z
      .string()
      .regex(/^\/[!#-[\]-~]{0,255}$/)
      .optional(),
    // RFC 9110 7.2 Host: a DNS name (or IPv4) and an optional port; NGINX variables are never interpreted.
    'upstream-vhost': z
      .string()
      .max(253)
      .regex(
        /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(:\d{1,5})?$/,
      )
      .optional(),
  }),
  descriptors: [
    {
      key: 'rewrite-target',
      nginx: true,
      values: 'a path, with $1..$9 for the groups of the regex path',
      default: 'none',
      description:
        'The backend receives this path instead of the request path (the query is kept). Implies use-regex, as in ingress-nginx: `/something(/|$)(.*)` with `/$2` sends `/something/new` as `/new`.',
      risk: 'Medium',
      refuseInvalid: true,
    },
    {
      key: 'use-regex',
      nginx: true,
      values: 'true, false',
      default: 'false',
      description:
        'Paths are regular expressions, matched case-insensitively from the start of the path, longest path first; then every path of the host matches that way, as in ingress-nginx. Matching is linear-time: backreferences, lookaround and possessive quantifiers are refused.',
      risk: 'Medium',
      differs:
        'PCRE features that need backtracking (backreferences, lookaround) are refused; matching is linear-time',
      refuseInvalid: true,
    },
    {
      key: 'app-root',
      nginx: true,
      values: 'a path',
      default: 'none',
      description: 'A request for `/` is redirected (302) to this path.',
      risk: 'Low',
      refuseInvalid: true,
    },
    {
      key: 'x-forwarded-prefix',
      nginx: true,
      values: 'a path',
      default: 'none',
      description: 'Sent to the backend as the X-Forwarded-Prefix header.',
      risk: 'Low',
    },
    {
      key: 'upstream-vhost',
      nginx: true,
      values: 'a host name with an optional port',
      default: "none (the client's Host)",
      description:
        "The Host header the backend receives (requests and WebSocket upgrades); X-Forwarded-Host keeps the client's.",
      risk: 'Medium',
      refuseInvalid: true,
      differs: 'NGINX variables ($host, $service_name...) are not expanded: such a value refuses the Ingress',
    },
  ],
} satisfies AnnotationGroup<z.ZodObject>;

/** Typed result of the rewrite group. */
export type RewriteAnnotations = z.output<typeof rewriteGroup.schema>;

/** The regex paths are matched with: case-insensitive, from the start (ingress-nginx `location ~* ^path`). */
export const PATH_REGEX_OPTIONS = { caseInsensitive: true, anchored: true } as const;

/** Why `path` cannot be served as a regex path, or undefined when it can. */
export function pathRegexProblem(path: string): string | undefined {
  const compiled = compileRegex(path, PATH_REGEX_OPTIONS);
  return compiled instanceof Error ? compiled.message : undefined;
}
