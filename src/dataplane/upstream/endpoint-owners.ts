import type { Backend } from '../../snapshot/index.ts';
import { diffEndpoints, type EndpointDiff } from './endpoint-diff.ts';

/**
 * Which backends list each endpoint id, in snapshot order (a lone owner is kept as its id, not a list: almost
 * every endpoint has one). The endpoint's shared state follows the first owner's Endpoint and passive policy,
 * so a swap that adds or removes an owner knows whose values the state takes, without a pass over every
 * backend. Owner lists stay in snapshot order when backends are added in id order (the builder's).
 */
export class EndpointOwners {
  #owners = new Map<string, string | string[]>();

  /** Forgets every owner (a full reconcile rebuilds the index). */
  clear(): void {
    this.#owners.clear();
  }

  /** Appends `backendId` as the last owner of `endpointId` (a full reconcile, in snapshot order). */
  append(endpointId: string, backendId: string): void {
    const seen = this.#owners.get(endpointId);
    if (seen === undefined) this.#owners.set(endpointId, backendId);
    else if (typeof seen === 'string') this.#owners.set(endpointId, [seen, backendId]);
    else seen.push(backendId);
  }

  /** Adds `backendId` at its place in id order (backend lists are sorted by id). */
  insert(endpointId: string, backendId: string): void {
    const seen = this.#owners.get(endpointId);
    if (seen === undefined) {
      this.#owners.set(endpointId, backendId);
      return;
    }
    const list = typeof seen === 'string' ? [seen] : seen;
    let at = list.length;
    while (at > 0 && (list[at - 1] as string) > backendId) at--;
    list.splice(at, 0, backendId);
    this.#owners.set(endpointId, list);
  }

  /** Removes one listing of `endpointId` by `backendId`. */
  remove(endpointId: string, backendId: string): void {
    const seen = this.#owners.get(endpointId);
    if (seen === undefined) return;
    if (typeof seen === 'string') {
      if (seen === backendId) this.#owners.delete(endpointId);
      return;
    }
    const at = seen.indexOf(backendId);
    if (at >= 0) seen.splice(at, 1);
    if (seen.length === 1) this.#owners.set(endpointId, seen[0] as string);
    else if (seen.length === 0) this.#owners.delete(endpointId);
  }

  /** The first owner in snapshot order, or undefined when no backend lists the id. */
  first(endpointId: string): string | undefined {
    const seen = this.#owners.get(endpointId);
    return typeof seen === 'string' ? seen : seen?.[0];
  }

  /** Every owner of `endpointId`, in snapshot order. */
  all(endpointId: string): readonly string[] {
    const seen = this.#owners.get(endpointId);
    return seen === undefined ? [] : typeof seen === 'string' ? [seen] : seen;
  }

  /** True when exactly one backend lists the id once (the endpoint fast path touches only those). */
  single(endpointId: string): boolean {
    return typeof this.#owners.get(endpointId) === 'string';
  }

  /** True when some backend lists the id. */
  has(endpointId: string): boolean {
    return this.#owners.has(endpointId);
  }
}

/**
 * Moves `owners` from the backends `change` removed to those it added (`incoming` by id); returns the endpoint
 * ids whose owners or values may differ, and the endpoint diff of each replaced backend whose endpoint lists
 * are sorted (its unchanged members can be kept).
 */
export function reown(
  owners: EndpointOwners,
  change: { readonly removed: readonly Backend[]; readonly added: readonly Backend[] },
  incoming: ReadonlyMap<string, Backend>,
): { touched: Set<string>; diffs: Map<string, EndpointDiff> } {
  const touched = new Set<string>();
  const diffs = new Map<string, EndpointDiff>();
  for (const old of change.removed) {
    const next = incoming.get(old.id);
    const diff = next === undefined ? undefined : diffEndpoints(old.endpoints, next.endpoints);
    if (next === undefined || diff === undefined) {
      for (const e of old.endpoints) {
        owners.remove(e.id, old.id);
        touched.add(e.id);
      }
      continue;
    }
    diffs.set(next.id, diff);
    for (const e of diff.removed) {
      owners.remove(e.id, old.id);
      touched.add(e.id);
    }
    for (const e of diff.added) {
      owners.insert(e.id, next.id);
      touched.add(e.id);
    }
    for (const e of diff.updated) touched.add(e.id);
    // Another passive policy reaches every endpoint this backend is the first owner of.
    if (old.health.passive !== next.health.passive) for (const e of next.endpoints) touched.add(e.id);
  }
  for (const b of change.added) {
    if (diffs.has(b.id)) continue;
    for (const e of b.endpoints) {
      owners.insert(e.id, b.id);
      touched.add(e.id);
    }
  }
  return { touched, diffs };
}
