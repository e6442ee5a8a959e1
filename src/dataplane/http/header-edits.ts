import type { HeaderEdits } from '../../snapshot/types.ts';

/**
 * Applies a route's header edits (Gateway API HTTPHeaderFilter: set, then add, then remove) to a flat header
 * list as undici and node:http take it (`[name, value, name, value, ...]`, names lower case). Returns a new
 * list; Host is never touched here (URLRewrite owns it), nor are hop-by-hop headers re-added by the caller.
 */
export function applyHeaderEdits(list: readonly string[], edits: HeaderEdits | undefined): string[] {
  if (edits === undefined) return list as string[];
  const drop = new Set<string>();
  for (const h of edits.set) if (h.name !== 'host') drop.add(h.name);
  for (const name of edits.remove) if (name !== 'host') drop.add(name);
  const out: string[] = [];
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = (list[i] as string).toLowerCase();
    if (!drop.has(name)) out.push(name, list[i + 1] as string);
  }
  for (const h of edits.set)
    if (h.name !== 'host' && !edits.remove.includes(h.name)) out.push(h.name, h.value);
  for (const h of edits.add) {
    if (h.name === 'host' || edits.remove.includes(h.name)) continue;
    // "add" appends to an existing value (Gateway API: `my-header: foo` + add bar => `my-header: foo,bar`).
    let at = -1;
    for (let i = 0; i + 1 < out.length && at === -1; i += 2) if (out[i] === h.name) at = i;
    if (at !== -1) out[at + 1] = `${out[at + 1]},${h.value}`;
    else out.push(h.name, h.value);
  }
  return out;
}
