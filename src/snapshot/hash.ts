import { createHash } from 'node:crypto';
import type { Snapshot } from './types.ts';

type Body = Omit<Snapshot, 'version' | 'hash'>;

/** JSON with object keys sorted, so equal content always serialises (and hashes) the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

/**
 * Content hashes of snapshot bodies. The hash covers the body with each host, backend and certificate
 * replaced by the hash of its canonical JSON; those part hashes are kept by object, so a body that reuses
 * the (frozen) parts of the last one costs only its new parts. Equal content => equal hash, with or without
 * the cache. Keep one per producer.
 */
export class SnapshotHasher {
  #parts = new WeakMap<object, string>();
  /** Digest of a whole (frozen) list of parts: an endpoint-only change re-digests the backends list only. */
  #lists = new WeakMap<object, string>();

  hash(body: Body): string {
    const digest: Record<string, unknown> = { ...body };
    for (const list of ['hosts', 'backends', 'certificates'] as const) {
      const parts = body[list] as readonly unknown[] | undefined;
      if (Array.isArray(parts)) digest[list] = this.#list(parts);
    }
    return sha256(canonicalJson(digest)).slice(0, 32);
  }

  // One string per list (the part hashes joined, then hashed): canonicalJson of 30,000 part hashes per
  // change cost more than the change at 10,000 Ingresses. Equal parts in equal order => equal digest.
  #list(parts: readonly unknown[]): string {
    let d = this.#lists.get(parts);
    if (d !== undefined) return d;
    let joined = '';
    for (const p of parts) joined += `${this.#part(p)},`;
    d = sha256(joined);
    if (Object.isFrozen(parts)) this.#lists.set(parts, d);
    return d;
  }

  #part(value: unknown): string {
    if (typeof value !== 'object' || value === null) return sha256(canonicalJson(value) ?? '');
    let h = this.#parts.get(value);
    if (h === undefined) {
      h = sha256(canonicalJson(value));
      // Only a frozen part keeps its content; finalizeSnapshot freezes the parts before it hashes them.
      if (Object.isFrozen(value)) this.#parts.set(value, h);
    }
    return h;
  }
}

/**
 * Stamps the content hash and version on a snapshot body and freezes it deeply (parts already frozen, e.g.
 * reused from the last snapshot, are skipped). Pass the producer's `hasher` to reuse the hashes of those parts.
 */
export function finalizeSnapshot(
  body: Body,
  version: number,
  hasher: SnapshotHasher = new SnapshotHasher(),
): Snapshot {
  for (const part of Object.values(body)) deepFreeze(part);
  return Object.freeze({ ...body, version, hash: hasher.hash(body) });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A snapshot that configures nothing: every request gets 404. The dataplane starts with it. */
export function emptySnapshot(): Snapshot {
  return finalizeSnapshot({ hosts: [], backends: [], certificates: [] }, 0);
}
