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
 * the (frozen) parts of the last one costs only its new parts. Each list is digested in chunks of 64
 * positions, and a chunk holding the very same parts as in the last list of that name keeps its digest, so
 * an endpoint-only change at 10,000 Ingresses re-digests one chunk, not 10,000 part hashes. A backend with
 * many endpoints hashes them one by one (kept by Endpoint object): one slice of a Service of 10,000 changed
 * re-hashes that slice's endpoints. Equal content => equal hash, with or without the cache. One per producer.
 */
export class SnapshotHasher {
  #parts = new WeakMap<object, string>();
  #backends = new WeakMap<object, string>();
  /** Digest of a whole (frozen) list. */
  #lists = new WeakMap<object, string>();
  /** The last deep-frozen list of each name and its chunk digests. */
  #previous = new Map<string, { list: readonly unknown[]; chunks: string[] }>();
  #deepFrozen = new WeakSet<object>();
  /** Digests of endpoint chunks, by their first Endpoint object. */
  #chunks = new WeakMap<object, { joined: string; digest: string }>();

  hash(body: Body): string {
    const digest: Record<string, unknown> = { ...body };
    for (const name of LISTS) {
      const parts = body[name] as readonly unknown[] | undefined;
      if (Array.isArray(parts)) digest[name] = this.#list(name, parts);
    }
    return sha256(canonicalJson(digest)).slice(0, 32);
  }

  /**
   * Deep-freezes the body's lists; positions holding the very same part as the last list of that name (frozen
   * then) are skipped without a look, so a 10,000-backend list with one new backend costs one freeze.
   */
  freeze(body: Body): void {
    for (const [name, value] of Object.entries(body)) {
      const previous = this.#previous.get(name)?.list;
      if (!Array.isArray(value) || previous === undefined || Object.isFrozen(value)) deepFreeze(value);
      else {
        Object.freeze(value);
        for (let i = 0; i < value.length; i++) if (value[i] !== previous[i]) deepFreeze(value[i]);
      }
      if (Array.isArray(value)) this.#deepFrozen.add(value);
    }
  }

  // Chunk digests joined, then hashed: canonicalJson of 30,000 part hashes per change cost more than the
  // change at 10,000 Ingresses. Chunks are positions [64k, 64k+64): content, so equal lists digest equally.
  #list(name: string, parts: readonly unknown[]): string {
    let d = this.#lists.get(parts);
    if (d !== undefined) return d;
    const previous = this.#previous.get(name);
    const chunks: string[] = [];
    for (let from = 0; from < parts.length; from += CHUNK) {
      const to = Math.min(parts.length, from + CHUNK);
      const c = from / CHUNK;
      let same = previous !== undefined && Math.min(previous.list.length, from + CHUNK) === to;
      for (let i = from; same && i < to; i++) same = parts[i] === previous?.list[i];
      if (same) {
        chunks.push(previous?.chunks[c] as string);
        continue;
      }
      let joined = '';
      for (let i = from; i < to; i++) joined += `${this.#hashOf(name, parts[i])},`;
      chunks.push(sha256(joined));
    }
    d = sha256(chunks.join(','));
    if (Object.isFrozen(parts)) this.#lists.set(parts, d);
    // Only a list this hasher froze deeply is known not to change under the same identities.
    if (this.#deepFrozen.has(parts)) this.#previous.set(name, { list: parts, chunks });
    return d;
  }

  #hashOf(name: string, part: unknown): string {
    return name === 'backends' ? this.#backend(part) : this.#part(part);
  }

  // Few endpoints: the backend is one document (one hash is cheaper than one per endpoint). Many: its
  // endpoints list is replaced by the digest of their own hashes. The count is content, so equal backends
  // always take the same branch.
  #backend(value: unknown): string {
    const endpoints = (value as { endpoints?: unknown } | null)?.endpoints;
    if (!Array.isArray(endpoints) || endpoints.length < PER_ENDPOINT_FROM) return this.#part(value);
    const b = value as object;
    let h = this.#backends.get(b);
    if (h === undefined) {
      h = sha256(canonicalJson({ ...b, endpoints: `endpoints:${this.#endpoints(endpoints)}` }));
      if (Object.isFrozen(b)) this.#backends.set(b, h);
    }
    return h;
  }

  // Chunks end after an endpoint whose hash starts with 'A' (1 in 64, by content: an endpoint that comes or
  // goes moves the boundaries of its own chunk only), at most 256 long; a chunk's digest is kept by its first
  // endpoint and reused while the chunk's hashes are the same string.
  #endpoints(list: readonly unknown[]): string {
    let d = this.#lists.get(list);
    if (d !== undefined) return d;
    let digests = '';
    let joined = '';
    let first: unknown;
    let count = 0;
    for (let i = 0; i < list.length; i++) {
      const h = this.#part(list[i]);
      if (count === 0) first = list[i];
      joined += `${h},`;
      count++;
      if (h.charCodeAt(0) !== 65 && count < 256 && i < list.length - 1) continue;
      digests += `${this.#chunk(first, joined)},`;
      joined = '';
      count = 0;
    }
    d = sha256(digests);
    if (Object.isFrozen(list)) this.#lists.set(list, d);
    return d;
  }

  #chunk(first: unknown, joined: string): string {
    const key = typeof first === 'object' && first !== null && Object.isFrozen(first) ? first : undefined;
    const seen = key === undefined ? undefined : this.#chunks.get(key);
    if (seen !== undefined && seen.joined === joined) return seen.digest;
    const digest = sha256(joined);
    if (key !== undefined) this.#chunks.set(key, { joined, digest });
    return digest;
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

const LISTS = ['hosts', 'backends', 'certificates'] as const;
/** Positions per chunk of a body list's digest. */
const CHUNK = 64;
/** From this many endpoints on, a backend's endpoints are hashed one by one (SnapshotHasher). */
const PER_ENDPOINT_FROM = 64;

/**
 * Stamps the content hash and version on a snapshot body and freezes it deeply (parts already frozen, e.g.
 * reused from the last snapshot, are skipped). Pass the producer's `hasher` to reuse the hashes of those parts.
 */
export function finalizeSnapshot(
  body: Body,
  version: number,
  hasher: SnapshotHasher = new SnapshotHasher(),
): Snapshot {
  hasher.freeze(body);
  return Object.freeze({ ...body, version, hash: hasher.hash(body) });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** Freezes `value` and everything it holds; parts already frozen are not walked again. */
export function deepFreeze<T>(value: T): T {
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
