import type { AccessPolicy } from '../../snapshot/index.ts';
import { CidrSet } from '../front/cidr.ts';

/** A route's compiled access policy: answers whether a client address may use the route. */
export interface AccessCheck {
  allows(clientAddress: string): boolean;
}

const OPEN: AccessCheck = { allows: () => true };
// An entry that does not parse closes the route: serving it open would be the fail-open the policy exists to prevent.
const CLOSED: AccessCheck = { allows: () => false };

/**
 * Compiles Route.access: deny wins; a non-empty allow list excludes everyone else (ingress-nginx's
 * whitelist-source-range / denylist-source-range semantics). No policy, or two empty lists, allows everyone.
 */
export function compileAccess(policy: AccessPolicy | undefined): AccessCheck {
  if (policy === undefined || (policy.allow.length === 0 && policy.deny.length === 0)) return OPEN;
  let allow: CidrSet;
  let deny: CidrSet;
  try {
    allow = new CidrSet(policy.allow);
    deny = new CidrSet(policy.deny);
  } catch {
    return CLOSED;
  }
  return {
    allows: (address) => !deny.has(address) && (allow.size === 0 || allow.has(address)),
  };
}
