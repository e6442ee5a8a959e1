import { z } from 'zod';
import { parseCidrList } from '../../shared/cidr.ts';
import type { AccessPolicy } from '../../snapshot/types.ts';
import { type AnnotationIssue, type AnnotationReader, defineGroup } from './descriptor.ts';

/** A comma-separated CIDR list, every entry valid (a bad one never silently widens or narrows access). */
const cidrList = z.string().refine((s) => 'cidrs' in parseCidrList(s), 'a comma-separated list of CIDRs');

const CIDRS = 'comma-separated IPv4/IPv6 CIDRs or addresses';

/**
 * Source-address access control. Unlike every other group, a bad value does not fall back to the default:
 * the default is "everyone", so falling back would serve the route open. A bad value refuses the Ingress.
 */
export const accessGroup = defineGroup({
  name: 'access control',
  schema: z.object({
    'allowlist-source-range': cidrList.optional(),
    'whitelist-source-range': cidrList.optional(),
    'denylist-source-range': cidrList.optional(),
  }),
  descriptors: [
    {
      key: 'allowlist-source-range',
      nginx: true,
      values: CIDRS,
      default: 'empty (every client)',
      description:
        'Only clients whose address (the peer, or the one a trusted proxy gave) is in one of these ranges may use the paths of this Ingress; others get 403. An invalid entry refuses the whole Ingress (reason InvalidAccessControl): it is not served rather than served open.',
      risk: 'High',
    },
    {
      key: 'whitelist-source-range',
      nginx: true,
      values: CIDRS,
      default: 'empty (every client)',
      description:
        "ingress-nginx's older name of allowlist-source-range; both lists are merged when both are set.",
      risk: 'High',
    },
    {
      key: 'denylist-source-range',
      nginx: true,
      values: CIDRS,
      default: 'empty (no client)',
      description:
        'Clients in these ranges get 403. Deny wins over allow. An invalid entry refuses the whole Ingress.',
      risk: 'High',
    },
  ],
});

/**
 * ingress-nginx access-control annotations sticky-ingress does not implement. An Ingress carrying one is NOT
 * served (reason UnsupportedAccessControl): serving it would expose what its author meant to protect.
 */
export const UNSUPPORTED_ACCESS_CONTROL: Readonly<Record<string, string>> = {
  'auth-url': 'external authentication',
  'auth-signin': 'external authentication',
  'auth-signin-redirect-param': 'external authentication',
  'auth-method': 'external authentication',
  'auth-response-headers': 'external authentication',
  'auth-request-redirect': 'external authentication',
  'auth-proxy-set-headers': 'external authentication',
  'auth-cache-key': 'external authentication',
  'auth-cache-duration': 'external authentication',
  'auth-always-set-cookie': 'external authentication',
  'auth-keepalive': 'external authentication',
  'auth-keepalive-requests': 'external authentication',
  'auth-keepalive-timeout': 'external authentication',
  'auth-keepalive-share-vars': 'external authentication',
  'auth-snippet': 'external authentication (raw NGINX configuration)',
  'auth-type': 'basic/digest authentication',
  'auth-secret': 'basic/digest authentication',
  'auth-secret-type': 'basic/digest authentication',
  'auth-realm': 'basic/digest authentication',
  'auth-tls-secret': 'client certificate authentication',
  'auth-tls-verify-client': 'client certificate authentication',
  'auth-tls-verify-depth': 'client certificate authentication',
  'auth-tls-error-page': 'client certificate authentication',
  'auth-tls-pass-certificate-to-upstream': 'client certificate authentication',
  'auth-tls-match-cn': 'client certificate authentication',
  satisfy: 'combining authentication with source ranges',
  'enable-global-auth': 'global external authentication',
};

/** Whether `key` (without prefix) asks for access control sticky-ingress does not implement. */
export function unsupportedAccessControl(key: string, value: string): string | undefined {
  // enable-global-auth: "false" opts out of a global auth there is none of here: nothing is left unprotected.
  if (key === 'enable-global-auth' && value === 'false') return undefined;
  return UNSUPPORTED_ACCESS_CONTROL[key] ?? (key.startsWith('auth-') ? 'authentication' : undefined);
}

/**
 * Reads the source-range keys into the route's AccessPolicy (undefined: no restriction). A bad list becomes an
 * Error issue marked `refuses` (the Ingress is not served) and the result is undefined.
 */
export function parseAccess(reader: AnnotationReader, issues: AnnotationIssue[]): AccessPolicy | undefined {
  const lists: Record<string, string[]> = {};
  let bad = false;
  for (const d of accessGroup.descriptors) {
    const found = reader.read(d);
    if (!found) continue;
    const parsed = parseCidrList(found.value);
    if ('cidrs' in parsed) {
      lists[d.key] = parsed.cidrs;
      continue;
    }
    bad = true;
    issues.push({
      severity: 'Error',
      annotation: found.key,
      reason: 'InvalidAccessControl',
      message: `invalid ${found.key} entries ${parsed.invalid.map((s) => JSON.stringify(s)).join(', ')}: expected ${CIDRS}; the Ingress is not served rather than served open`,
      refuses: true,
    });
  }
  if (bad) return undefined;
  const allow = [...(lists['allowlist-source-range'] ?? []), ...(lists['whitelist-source-range'] ?? [])];
  const deny = lists['denylist-source-range'] ?? [];
  return allow.length > 0 || deny.length > 0 ? { allow, deny } : undefined;
}
