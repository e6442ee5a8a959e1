import type { Route } from './types.ts';

/**
 * Match order of a host's routes, shared by the builder (which sorts) and the dataplane (which re-sorts
 * whatever a producer gave it). Plain hosts: longer element-normalised paths first, Exact before Prefix of the
 * same path, then by id. Regex hosts (ingress-nginx `use-regex`, where every non-Exact path is a regex):
 * Exact paths first (nginx `location =` wins outright), then regexes by raw path length, longest first, as
 * ingress-nginx orders its regex locations, then by id.
 */
export function routeOrder(a: Route, b: Route): number {
  if (a.match !== undefined || b.match !== undefined) {
    const ea = a.pathType === 'Exact' ? 0 : 1;
    const eb = b.pathType === 'Exact' ? 0 : 1;
    if (ea !== eb) return ea - eb;
    if (a.path.length !== b.path.length) return b.path.length - a.path.length;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  }
  const la = a.pathType === 'Exact' ? a.path.length : trimSlash(a.path).length || 1;
  const lb = b.pathType === 'Exact' ? b.path.length : trimSlash(b.path).length || 1;
  if (la !== lb) return lb - la;
  const ea = a.pathType === 'Exact' ? 0 : 1;
  const eb = b.pathType === 'Exact' ? 0 : 1;
  if (ea !== eb) return ea - eb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function trimSlash(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--;
  return path.slice(0, end);
}

/** A literal path as a regex pattern (for paths of other Ingresses on a regex host). */
export function escapeRegex(path: string): string {
  return path.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
