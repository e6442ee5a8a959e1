import type { Route } from './types.ts';

/**
 * Route precedence within a host, the order `VirtualHost.routes` is sorted in and the router tries routes in:
 * longer paths first (a Prefix path without its trailing slashes, `/` counting as 1, like Exact `/`), then
 * Exact before Prefix of the same length, then (Gateway API HTTPRouteRule precedence) a method match first,
 * more header matches first, more query matches first, then by id so the order is total and stable. The builder sorts with
 * it and the dataplane compiles with it: one definition, so they can never disagree.
 */
export function comparePrecedence(a: Route, b: Route): number {
  if (a.match !== undefined || b.match !== undefined) return compareRegexHost(a, b);
  return (
    length(b) - length(a) ||
    exactFirst(a) - exactFirst(b) ||
    methodFirst(a) - methodFirst(b) ||
    (b.conditions?.headers?.length ?? 0) - (a.conditions?.headers?.length ?? 0) ||
    (b.conditions?.query?.length ?? 0) - (a.conditions?.query?.length ?? 0) ||
    byId(a, b)
  );
}

const methodFirst = (r: Route) => (r.conditions?.method === undefined ? 1 : 0);

/**
 * Regex hosts (ingress-nginx `use-regex`: every non-Exact path of the host is a regex): Exact paths first
 * (nginx `location =` wins outright), then regexes by raw path length, longest first, as ingress-nginx orders
 * its regex locations (nginx tries them in order and takes the first match), then by id.
 */
function compareRegexHost(a: Route, b: Route): number {
  return exactFirst(a) - exactFirst(b) || b.path.length - a.path.length || byId(a, b);
}

const byId = (a: Route, b: Route) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function length(r: Route): number {
  if (r.pathType === 'Exact') return r.path.length;
  let end = r.path.length;
  while (end > 0 && r.path.charCodeAt(end - 1) === 47) end--; // '/': a Prefix matches by path element
  return end || 1;
}

const exactFirst = (r: Route) => (r.pathType === 'Exact' ? 0 : 1);
