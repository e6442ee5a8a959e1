/**
 * Parser of the regular-expression subset sticky-ingress accepts in paths and canary header patterns: the
 * PCRE constructs ingress-nginx users write (literals, `.`, classes, `\d\w\s`, groups, alternation, greedy and
 * lazy quantifiers, `^`, `$`). Everything whose meaning needs backtracking (backreferences, lookaround,
 * atomic groups, possessive quantifiers, `\b`) is rejected with a RegexError, so a pattern that parses can
 * always be run by the linear-time VM in vm.ts.
 */
import { RegexError } from '../../shared/errors.ts';

export { RegexError };

/** A set of UTF-16 code units, as inclusive ranges; `negate` inverts it. */
export interface CharSet {
  ranges: [number, number][];
  negate: boolean;
}

/** Syntax tree of an accepted pattern. */
export type Node =
  | { t: 'set'; set: CharSet }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number; greedy: boolean }
  | { t: 'group'; node: Node; index: number | undefined }
  | { t: 'bol' }
  | { t: 'eol' };

/** Longest pattern accepted; paths in ingress-nginx examples are far shorter. */
export const MAX_PATTERN_LENGTH = 1024;
/** Largest counted repetition (`{n,m}`): the VM unrolls it, so it bounds program size. */
const MAX_COUNT = 100;

const DIGIT: [number, number][] = [[48, 57]];
const WORD: [number, number][] = [
  [48, 57],
  [65, 90],
  [95, 95],
  [97, 122],
];
const SPACE: [number, number][] = [
  [9, 13],
  [32, 32],
];
const ESCAPE_CLASSES: Record<string, CharSet> = {
  d: { ranges: DIGIT, negate: false },
  D: { ranges: DIGIT, negate: true },
  w: { ranges: WORD, negate: false },
  W: { ranges: WORD, negate: true },
  s: { ranges: SPACE, negate: false },
  S: { ranges: SPACE, negate: true },
};
const CONTROL: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11 };

/** Parses `pattern`; returns the tree and the number of capture groups. Throws RegexError. */
export function parseRegex(pattern: string): { node: Node; groups: number } {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new RegexError(`pattern longer than ${MAX_PATTERN_LENGTH} characters`, MAX_PATTERN_LENGTH);
  }
  const p = new Parser(pattern);
  const node = p.alternation();
  if (p.pos < pattern.length) throw new RegexError('unbalanced )', p.pos);
  return { node, groups: p.groups };
}

class Parser {
  pos = 0;
  groups = 0;
  readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  alternation(): Node {
    const items = [this.concat()];
    while (this.src[this.pos] === '|') {
      this.pos++;
      items.push(this.concat());
    }
    return items.length === 1 ? items[0]! : { t: 'alt', items };
  }

  concat(): Node {
    const items: Node[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== '|' && this.src[this.pos] !== ')') {
      items.push(this.repeat());
    }
    return { t: 'cat', items };
  }

  repeat(): Node {
    const start = this.pos;
    let node = this.atom();
    for (;;) {
      const q = this.quantifier();
      if (!q) return node;
      if (node.t === 'bol' || node.t === 'eol') throw new RegexError('quantified anchor', start);
      let greedy = true;
      if (this.src[this.pos] === '?') {
        greedy = false;
        this.pos++;
      } else if (this.src[this.pos] === '+') {
        throw new RegexError('possessive quantifier (needs backtracking semantics)', this.pos);
      }
      if (this.peekQuantifier()) throw new RegexError('repeated quantifier', this.pos);
      node = { t: 'rep', node, min: q.min, max: q.max, greedy };
    }
  }

  peekQuantifier(): boolean {
    const c = this.src[this.pos];
    return (
      c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.pos)))
    );
  }

  quantifier(): { min: number; max: number } | undefined {
    const c = this.src[this.pos];
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      return { min: c === '+' ? 1 : 0, max: c === '?' ? 1 : -1 };
    }
    if (c !== '{') return undefined;
    const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(this.src.slice(this.pos));
    if (!m) return undefined; // PCRE: a `{` that does not start a quantifier is a literal
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    if (min > MAX_COUNT || max > MAX_COUNT || (max !== -1 && max < min)) {
      throw new RegexError(`counted repetition above ${MAX_COUNT} or reversed`, this.pos);
    }
    this.pos += m[0].length;
    return { min, max };
  }

  atom(): Node {
    const c = this.src[this.pos]!;
    const at = this.pos;
    this.pos++;
    switch (c) {
      case '(':
        return this.group(at);
      case '[':
        return { t: 'set', set: this.charClass() };
      case '.':
        return { t: 'set', set: { ranges: [[10, 10]], negate: true } };
      case '^':
        return { t: 'bol' };
      case '$':
        return { t: 'eol' };
      case '\\':
        return { t: 'set', set: this.escape(false) };
      case '*':
      case '+':
      case '?':
        throw new RegexError('quantifier without an operand', at);
      default:
        return literal(c.charCodeAt(0));
    }
  }

  group(at: number): Node {
    let index: number | undefined;
    if (this.src[this.pos] === '?') {
      if (this.src[this.pos + 1] !== ':') {
        throw new RegexError('lookaround, named, atomic or flag groups are not supported', at);
      }
      this.pos += 2;
    } else {
      index = ++this.groups;
    }
    const node = this.alternation();
    if (this.src[this.pos] !== ')') throw new RegexError('unterminated group', at);
    this.pos++;
    return { t: 'group', node, index };
  }

  charClass(): CharSet {
    const start = this.pos - 1;
    const set: CharSet = { ranges: [], negate: false };
    if (this.src[this.pos] === '^') {
      set.negate = true;
      this.pos++;
    }
    let first = true;
    while (this.pos < this.src.length && (this.src[this.pos] !== ']' || first)) {
      first = false;
      const lo = this.classMember();
      if (typeof lo !== 'number') {
        set.ranges.push(...classRanges(lo));
        continue;
      }
      if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length) {
        this.pos++;
        const hi = this.classMember();
        if (typeof hi !== 'number' || hi < lo) throw new RegexError('invalid class range', this.pos);
        set.ranges.push([lo, hi]);
      } else {
        set.ranges.push([lo, lo]);
      }
    }
    if (this.src[this.pos] !== ']') throw new RegexError('unterminated character class', start);
    this.pos++;
    return set;
  }

  classMember(): number | CharSet {
    const c = this.src[this.pos]!;
    this.pos++;
    if (c === '[' && this.src[this.pos] === ':')
      throw new RegexError('POSIX classes are not supported', this.pos);
    if (c !== '\\') return c.charCodeAt(0);
    const set = this.escape(true);
    return set.ranges.length === 1 && !set.negate && set.ranges[0]![0] === set.ranges[0]![1]
      ? set.ranges[0]![0]
      : set;
  }

  escape(inClass: boolean): CharSet {
    const at = this.pos - 1;
    const c = this.src[this.pos];
    if (c === undefined) throw new RegexError('trailing backslash', at);
    this.pos++;
    const cls = ESCAPE_CLASSES[c];
    if (cls) return cls;
    if (c in CONTROL) return single(CONTROL[c]!);
    if (c === 'x') {
      const m = /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.pos));
      if (!m) throw new RegexError('\\x needs two hex digits', at);
      this.pos += 2;
      return single(Number.parseInt(m[0], 16));
    }
    if (/[0-9]/.test(c)) throw new RegexError('backreferences are not supported', at);
    if (/[A-Za-z]/.test(c)) {
      throw new RegexError(`escape \\${c} is not supported${inClass ? ' in a class' : ''}`, at);
    }
    return single(c.charCodeAt(0));
  }
}

function single(code: number): CharSet {
  return { ranges: [[code, code]], negate: false };
}

function literal(code: number): Node {
  return { t: 'set', set: single(code) };
}

// A negated escape inside a class (`[\D]`) becomes its complement ranges over the UTF-16 code units.
function classRanges(set: CharSet): [number, number][] {
  if (!set.negate) return set.ranges;
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of [...set.ranges].sort((a, b) => a[0] - b[0])) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= 0xffff) out.push([next, 0xffff]);
  return out;
}
