export { canonicalJson, emptySnapshot, finalizeSnapshot } from './hash.ts';
export type * from './types.ts';
