import { ANY_HOST } from '../build/hostname.ts';

/**
 * The hosts a route serves through one listener (Gateway API: the intersection of the listener's hostname and
 * the route's hostnames). `undefined` listener hostname and an empty route list both mean "any host".
 * Returns [] when they do not intersect (NoMatchingListenerHostname).
 */
export function intersectHosts(listener: string | undefined, route: readonly string[]): string[] {
  if (route.length === 0) return [listener ?? ANY_HOST];
  if (listener === undefined) return [...route];
  const out: string[] = [];
  for (const r of route) {
    if (r === listener) out.push(r);
    else if (covers(listener, r)) out.push(r);
    else if (covers(r, listener)) out.push(listener);
  }
  return [...new Set(out)];
}

/**
 * Listener isolation (Gateway API, GatewayHTTPListenerIsolation): the hosts of `hosts` that `listener` keeps,
 * i.e. not claimed by a more specific listener of the same Gateway on the same port (`others`): a request
 * for `bar.example.com` belongs to a `*.example.com` listener, never to one without hostname beside it.
 */
export function isolateHosts(
  listener: string | undefined,
  others: readonly (string | undefined)[],
  hosts: readonly string[],
): string[] {
  const narrower = others.filter(
    (o): o is string => o !== undefined && o !== listener && (listener === undefined || covers(listener, o)),
  );
  if (narrower.length === 0) return [...hosts];
  return hosts.filter((h) => !narrower.some((o) => o === h || covers(o, h)));
}

// `*.example.com` covers every name ending in `.example.com` (any number of labels), wildcard or not.
function covers(wild: string, name: string): boolean {
  if (!wild.startsWith('*.')) return false;
  const suffix = wild.slice(1);
  return name.endsWith(suffix) && name.length > suffix.length && name !== wild;
}
