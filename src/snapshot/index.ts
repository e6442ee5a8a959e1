export { canonicalJson, emptySnapshot, finalizeSnapshot, SnapshotHasher } from './hash.ts';
export type * from './types.ts';
