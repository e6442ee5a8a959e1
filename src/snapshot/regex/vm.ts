/**
 * A Pike VM (Thompson NFA simulation with capture slots, R. Cox, "Regular Expression Matching: the Virtual
 * Machine Approach", 2009): every input position is visited once with at most one thread per instruction,
 * so a match costs O(input length x program size) whatever the pattern. JS RegExp backtracks, and `(a+)+$`
 * against `aaaa...!` takes exponential time there (the ReDoS class, OWASP "Regular expression Denial of
 * Service"); paths come from clients, so they never reach a backtracking engine.
 * Thread priority gives PCRE's leftmost-first choice between alternatives, so captures agree with nginx's.
 */
import { type CharSet, type Node, parseRegex, RegexError } from './parse.ts';

type Inst =
  | { op: 'set'; set: CharSet }
  | { op: 'split'; x: number; y: number }
  | { op: 'jmp'; to: number }
  | { op: 'save'; slot: number }
  | { op: 'bol' }
  | { op: 'eol' }
  | { op: 'match' };

/** Largest compiled program; bounds the per-character cost (counted repetitions unroll). */
const MAX_PROGRAM = 4096;

/** How to compile: `anchored` matches only from the start (paths); otherwise the first match anywhere. */
export interface RegexOptions {
  caseInsensitive: boolean;
  anchored: boolean;
}

/** Result of a match: the text of each group (`groups[0]` the whole match), '' for a group that did not take part. */
export interface RegexMatch {
  groups: string[];
}

/** A compiled pattern. Immutable; safe to share between requests. */
export class LinearRegex {
  readonly source: string;
  readonly groupCount: number;
  readonly #prog: Inst[];
  readonly #ci: boolean;
  /** Work of the last match: instructions executed, jumps followed included; tests compare it across inputs. */
  lastSteps = 0;

  /** Throws RegexError for a pattern outside the accepted subset (see parse.ts). */
  constructor(source: string, options: RegexOptions) {
    const { node, groups } = parseRegex(source);
    this.source = source;
    this.groupCount = groups;
    this.#ci = options.caseInsensitive;
    const prog: Inst[] = [];
    if (!options.anchored) {
      // A lazy `.*?` in front: the leftmost match wins (higher priority than starting later).
      prog.push(
        { op: 'split', x: 3, y: 1 },
        { op: 'set', set: { ranges: [], negate: true } },
        { op: 'jmp', to: 0 },
      );
    }
    prog.push({ op: 'save', slot: 0 });
    emit(node, prog);
    prog.push({ op: 'save', slot: 1 }, { op: 'match' });
    this.#prog = prog;
  }

  /** Whether `input` matches. */
  test(input: string): boolean {
    return this.#run(input) !== undefined;
  }

  /** The match with its groups, or undefined. */
  exec(input: string): RegexMatch | undefined {
    const caps = this.#run(input);
    if (!caps) return undefined;
    const groups: string[] = [];
    for (let g = 0; g <= this.groupCount; g++) {
      const a = caps[2 * g] ?? -1;
      const b = caps[2 * g + 1] ?? -1;
      groups.push(a >= 0 && b >= a ? input.slice(a, b) : '');
    }
    return { groups };
  }

  #run(input: string): number[] | undefined {
    const prog = this.#prog;
    const slots = 2 * (this.groupCount + 1);
    const mark = new Int32Array(prog.length).fill(-1);
    let clist: Thread[] = [];
    let nlist: Thread[] = [];
    let matched: number[] | undefined;
    let steps = 0;
    steps += add(prog, clist, mark, 0, new Array<number>(slots).fill(-1), 0, input, 0);
    for (let pos = 0; clist.length > 0; pos++) {
      const code = pos < input.length ? input.charCodeAt(pos) : -1;
      for (let i = 0; i < clist.length; i++) {
        steps++;
        const th = clist[i]!;
        const inst = prog[th.pc]!;
        if (inst.op === 'match') {
          matched = th.caps;
          break; // lower-priority threads lose to this match (leftmost-first)
        }
        if (inst.op === 'set' && code !== -1 && inSet(inst.set, code, this.#ci)) {
          steps += add(prog, nlist, mark, th.pc + 1, th.caps, pos + 1, input, (pos + 1) * 2 + 1);
        }
      }
      [clist, nlist] = [nlist, []];
      if (pos >= input.length) break;
    }
    this.lastSteps = steps;
    return matched;
  }
}

/** Compiles `pattern`, or returns the reason it is not accepted. */
export function compileRegex(pattern: string, options: RegexOptions): LinearRegex | RegexError {
  try {
    return new LinearRegex(pattern, options);
  } catch (err) {
    if (err instanceof RegexError) return err;
    throw err;
  }
}

interface Thread {
  pc: number;
  caps: number[];
}

// Follows jumps, splits, saves and anchors from `pc` (explicit stack: no recursion depth limit), adding each
// `set`/`match` instruction once per step; `gen` tells apart the lists of two positions in `mark`.
// Returns the instructions visited (the work done).
function add(
  prog: Inst[],
  list: Thread[],
  mark: Int32Array,
  pc0: number,
  caps0: number[],
  pos: number,
  input: string,
  gen: number,
): number {
  const stack: Thread[] = [{ pc: pc0, caps: caps0 }];
  let visited = 0;
  while (stack.length > 0) {
    const { pc, caps } = stack.pop()!;
    visited++;
    if (mark[pc] === gen) continue;
    mark[pc] = gen;
    const inst = prog[pc]!;
    switch (inst.op) {
      case 'jmp':
        stack.push({ pc: inst.to, caps });
        break;
      case 'split':
        stack.push({ pc: inst.y, caps }, { pc: inst.x, caps }); // x popped first: higher priority
        break;
      case 'save': {
        const next = caps.slice();
        next[inst.slot] = pos;
        stack.push({ pc: pc + 1, caps: next });
        break;
      }
      case 'bol':
        if (pos === 0) stack.push({ pc: pc + 1, caps });
        break;
      case 'eol':
        if (pos === input.length) stack.push({ pc: pc + 1, caps });
        break;
      default:
        list.push({ pc, caps });
    }
  }
  return visited;
}

function inSet(set: CharSet, code: number, ci: boolean): boolean {
  let hit = rangesHave(set.ranges, code);
  if (!hit && ci) {
    // ASCII case folding, as PCRE's caseless mode for the characters URL paths carry.
    if (code >= 65 && code <= 90) hit = rangesHave(set.ranges, code + 32);
    else if (code >= 97 && code <= 122) hit = rangesHave(set.ranges, code - 32);
  }
  return hit !== set.negate;
}

function rangesHave(ranges: readonly [number, number][], code: number): boolean {
  for (const [lo, hi] of ranges) if (code >= lo && code <= hi) return true;
  return false;
}

function emit(node: Node, prog: Inst[]): void {
  if (prog.length > MAX_PROGRAM)
    throw new RegexError(`pattern compiles to more than ${MAX_PROGRAM} steps`, 0);
  switch (node.t) {
    case 'set':
      prog.push({ op: 'set', set: node.set });
      return;
    case 'bol':
    case 'eol':
      prog.push({ op: node.t });
      return;
    case 'cat':
      for (const item of node.items) emit(item, prog);
      return;
    case 'group':
      if (node.index !== undefined) prog.push({ op: 'save', slot: 2 * node.index });
      emit(node.node, prog);
      if (node.index !== undefined) prog.push({ op: 'save', slot: 2 * node.index + 1 });
      return;
    case 'alt':
      emitAlt(node.items, prog);
      return;
    case 'rep':
      emitRepeat(node, prog);
  }
}

function emitAlt(items: Node[], prog: Inst[]): void {
  const jumps: Extract<Inst, { op: 'jmp' }>[] = [];
  items.forEach((item, i) => {
    if (i < items.length - 1) {
      const split: Extract<Inst, { op: 'split' }> = { op: 'split', x: prog.length + 1, y: 0 };
      prog.push(split);
      emit(item, prog);
      const jmp: Extract<Inst, { op: 'jmp' }> = { op: 'jmp', to: 0 };
      prog.push(jmp);
      jumps.push(jmp);
      split.y = prog.length;
    } else {
      emit(item, prog);
    }
  });
  for (const j of jumps) j.to = prog.length;
}

function emitRepeat(node: Extract<Node, { t: 'rep' }>, prog: Inst[]): void {
  for (let i = 0; i < node.min; i++) emit(node.node, prog);
  if (node.max === -1) {
    // e*: L: split body, out; body; jmp L
    const split: Extract<Inst, { op: 'split' }> = { op: 'split', x: 0, y: 0 };
    const loop = prog.length;
    prog.push(split);
    emit(node.node, prog);
    prog.push({ op: 'jmp', to: loop });
    setBranches(split, loop + 1, prog.length, node.greedy);
    return;
  }
  const splits: Extract<Inst, { op: 'split' }>[] = [];
  for (let i = node.min; i < node.max; i++) {
    const split: Extract<Inst, { op: 'split' }> = { op: 'split', x: 0, y: 0 };
    splits.push(split);
    prog.push(split);
    (split as { body?: number }).body = prog.length;
    emit(node.node, prog);
  }
  for (const s of splits) setBranches(s, (s as { body?: number }).body!, prog.length, node.greedy);
}

function setBranches(split: { x: number; y: number }, body: number, out: number, greedy: boolean): void {
  split.x = greedy ? body : out;
  split.y = greedy ? out : body;
}
