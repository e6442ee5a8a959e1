/**
 * Sets `extra` ([name, value, ...], lower-case names) on a flat header list, dropping entries of the same
 * names first: a header a route sets (X-Forwarded-Prefix, the CORS headers) replaces what the client or the
 * backend sent, as ingress-nginx's proxy_set_header / more_set_headers do.
 */
export function setHeaders(list: string[], extra: readonly string[]): string[] {
  if (extra.length === 0) return list;
  const names = new Set<string>();
  for (let i = 0; i < extra.length; i += 2) names.add(extra[i] as string);
  const out: string[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) {
    if (!names.has((list[i] as string).toLowerCase())) out.push(list[i] as string, list[i + 1] as string);
  }
  out.push(...extra);
  return out;
}
