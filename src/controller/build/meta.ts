import { canonicalJson } from '../../snapshot/hash.ts';
import type { SourceRef } from '../../snapshot/types.ts';

/**
 * Defensive readers for objects of unknown shape. The view holds whatever the API server or a manifest file
 * produced; the builder never trusts the TypeScript types at run time.
 */

/** The identity of an object a diagnostic or status is about. */
export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  generation?: number;
}

/** Orders competing objects: the oldest first, then namespace/name (the Ingress API's conflict rule). */
export interface Rank {
  /** creationTimestamp in ms; objects without one (manifests) rank after those with one. */
  created: number;
  key: string;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `v` if it is an array, else empty: a garbage list never stops a build. */
export function asArray<T>(v: readonly T[] | null | undefined | unknown): readonly T[] {
  return Array.isArray(v) ? (v as readonly T[]) : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function metadataOf(obj: unknown): Record<string, unknown> {
  const m = isRecord(obj) ? obj.metadata : undefined;
  return isRecord(m) ? m : {};
}

/** kind/namespace/name/uid/generation of an object; missing names become ''. */
export function objectRef(kind: string, obj: unknown): ObjectRef {
  const m = metadataOf(obj);
  const ref: ObjectRef = { kind, namespace: str(m.namespace) ?? 'default', name: str(m.name) ?? '' };
  const uid = str(m.uid);
  if (uid) ref.uid = uid;
  if (typeof m.generation === 'number') ref.generation = m.generation;
  return ref;
}

export function sourceRef(ref: ObjectRef): SourceRef {
  return { kind: ref.kind as SourceRef['kind'], namespace: ref.namespace, name: ref.name };
}

function rankOf(obj: unknown, ref: ObjectRef): Rank {
  const ts = metadataOf(obj).creationTimestamp;
  // Decoded at the store's edge (objects.ts): an RFC 3339 string or absent.
  const ms = typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
  return { created: Number.isFinite(ms) ? ms : Number.MAX_SAFE_INTEGER, key: `${ref.namespace}/${ref.name}` };
}

export function compareRank(a: Rank, b: Rank): number {
  return a.created - b.created || compareStrings(a.key, b.key);
}

/** Code-point order, independent of the locale (localeCompare is not). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function annotationsOf(obj: unknown): Record<string, unknown> {
  const a = metadataOf(obj).annotations;
  return isRecord(a) ? a : {};
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Objects with their ref and rank, oldest first; ties (garbage duplicates) by serialisation. */
export function sortedObjects(kind: string, list: unknown): { obj: unknown; ref: ObjectRef; rank: Rank }[] {
  const items = asArray<unknown>(list).map((obj) => {
    const ref = objectRef(kind, obj);
    return { obj, ref, rank: rankOf(obj, ref), json: '' };
  });
  items.sort((a, b) => compareRank(a.rank, b.rank) || compareStrings(serial(a), serial(b)));
  return items.map(({ obj, ref, rank }) => ({ obj, ref, rank }));
}

function serial(item: { obj: unknown; json: string }): string {
  if (item.json === '') item.json = safeJson(item.obj);
  return item.json;
}

function safeJson(v: unknown): string {
  try {
    return canonicalJson(v) ?? '';
  } catch {
    return '';
  }
}
