export { canonicalJson, emptySnapshot, finalizeSnapshot, SnapshotHasher } from './hash.ts';
export { escapeRegex, routeOrder } from './order.ts';
export { RegexError } from './regex/parse.ts';
export { compileRegex, LinearRegex, type RegexMatch, type RegexOptions } from './regex/vm.ts';
export type * from './types.ts';
