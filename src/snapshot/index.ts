export {
  applySnapshotChanges,
  type BackendChange,
  backendChanges,
  reuseUnchanged,
  type SnapshotChanges,
  snapshotChanges,
} from './delta.ts';
export { canonicalJson, emptySnapshot, finalizeSnapshot, SnapshotHasher } from './hash.ts';
export { applyListDelta, type ListDelta, listDelta } from './list-delta.ts';
export { comparePrecedence } from './precedence.ts';
export { escapeRegex } from './regex/escape.ts';
export { RegexError } from './regex/parse.ts';
export { compileRegex, LinearRegex, type RegexMatch, type RegexOptions } from './regex/vm.ts';
export type * from './types.ts';
