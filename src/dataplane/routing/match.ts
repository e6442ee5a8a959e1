import type { RequestMatch, WeightedBackend } from '../../snapshot/types.ts';

/**
 * Route conditions beyond host and path (method, headers, query: Gateway API HTTPRouteMatch) and the weighted
 * pick of a split. Pure: the caller draws the random number, so `explain` and tests can fix it.
 */

/** What a request says that matches read. `query` is the raw query with its `?` ('' when none). */
export interface MatchInput {
  readonly method: string;
  /** A request header by lower-case name (node:http joins repeated ones with ', '), or undefined. */
  header(name: string): string | undefined;
  readonly query: string;
  /** True on the HTTPS listener (Route.listener). */
  readonly secure: boolean;
}

/** True when `input` meets every condition of `m` (an absent `m` always matches). */
export function matchesRequest(m: RequestMatch | undefined, input: MatchInput | undefined): boolean {
  if (m === undefined) return true;
  if (input === undefined) return false;
  if (m.method !== undefined && m.method !== input.method) return false;
  if (m.headers !== undefined) {
    for (const h of m.headers) {
      if (input.header(h.name) !== h.value) return false;
    }
  }
  if (m.query !== undefined && m.query.length > 0) {
    const params = parseQuery(input.query);
    for (const q of m.query) if (params.get(q.name) !== q.value) return false;
  }
  return true;
}

/** The first value of each parameter (Gateway API: "the first value MUST be used"); bounded by the target size. */
function parseQuery(query: string): Map<string, string> {
  const out = new Map<string, string>();
  if (query.length <= 1) return out;
  for (const pair of query.slice(1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    if (name !== undefined && value !== undefined && !out.has(name)) out.set(name, value);
  }
  return out;
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined; // malformed %-escape: the parameter is treated as absent, never an exception
  }
}

/**
 * The entry of `split` that `roll` (uniform in [0, 1)) lands on, by weight; undefined when every weight is 0.
 * A roll outside [0, 1) is clamped, so a bad caller never indexes past the list.
 */
export function pickWeighted<T extends Pick<WeightedBackend, 'weight'>>(
  split: readonly T[],
  total: number,
  roll: number,
): T | undefined {
  if (total <= 0) return undefined;
  const r = Math.min(Math.max(roll, 0), 0.999999999) * total;
  let acc = 0;
  for (const entry of split) {
    acc += entry.weight;
    if (r < acc) return entry;
  }
  return split[split.length - 1];
}
