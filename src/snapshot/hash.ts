import { createHash } from 'node:crypto';
import type { Snapshot } from './types.ts';

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

/** Stamps the content hash and version on a snapshot body and freezes it deeply. */
export function finalizeSnapshot(body: Omit<Snapshot, 'version' | 'hash'>, version: number): Snapshot {
  const hash = createHash('sha256').update(canonicalJson(body)).digest('hex').slice(0, 32);
  return deepFreeze({ ...body, version, hash });
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
