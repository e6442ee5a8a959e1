import { z } from 'zod';
import type { AnnotationGroup, AnnotationIssue, AnnotationReader } from './descriptor.ts';
import { parseGroup } from './descriptor.ts';

/** ingress-nginx `server-alias`: more host names served exactly like the Ingress's (first) rule host. */
export const serverAliasGroup = {
  name: 'server alias',
  schema: z.object({
    'server-alias': z.string().max(4096).optional(),
  }),
  descriptors: [
    {
      key: 'server-alias',
      nginx: true,
      values: 'comma-separated host names (no wildcards)',
      default: 'none',
      description:
        "Each name is served exactly like the Ingress's first rule host: every route of that host (whichever Ingress added it), its redirects, and over HTTPS that host's certificate when it covers the alias (else the default certificate). An alias that is a host of any Ingress or StickyRoute, or an alias an older object already took, is dropped with a Warning naming both objects, so no tenant can take another's host through an alias.",
      risk: 'High',
      differs:
        'wildcard aliases are refused (dropped with a Warning), so an alias never covers more than the names it lists',
    },
  ],
} satisfies AnnotationGroup<z.ZodObject>;

const LABEL = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
// RFC 1123 host names only: no `*` (a wildcard alias would claim every sibling host of other tenants).
const ALIAS = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
/** At most this many aliases per Ingress; more are dropped with a Warning (bounded build work). */
export const MAX_ALIASES = 32;

/** The valid, lower-cased, de-duplicated aliases of `server-alias`; each rejected name is a Warning. */
export function parseServerAliases(reader: AnnotationReader, issues: AnnotationIssue[]): string[] {
  const raw = parseGroup(serverAliasGroup, reader, issues)['server-alias'];
  if (raw === undefined) return [];
  const key = serverAliasGroup.descriptors.map((d) => reader.read(d)?.key).find((k) => k) ?? 'server-alias';
  const out: string[] = [];
  for (const part of raw.split(',')) {
    const name = part.trim().toLowerCase().replace(/\.$/, '');
    if (name === '' || out.includes(name)) continue;
    const why =
      !ALIAS.test(name) || name.length > 253 || /^\d+(\.\d+){3}$/.test(name)
        ? name.includes('*')
          ? 'wildcard aliases are refused'
          : 'not a host name'
        : out.length >= MAX_ALIASES
          ? `more than ${MAX_ALIASES} aliases`
          : undefined;
    if (why !== undefined) {
      issues.push({
        severity: 'Warning',
        annotation: key,
        reason: 'InvalidAnnotation',
        message: `invalid server alias ${JSON.stringify(part.trim())} in ${key}: expected ${serverAliasGroup.descriptors[0]?.values}; ${why}: this alias is dropped`,
      });
      continue;
    }
    out.push(name);
  }
  return out;
}
