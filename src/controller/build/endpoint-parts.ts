import type { Endpoint } from '../../snapshot/types.ts';
import { compareStrings } from './meta.ts';
import { sliceListDerivation } from './view-index.ts';

/** What one EndpointSlice contributes to one Service port: its endpoints (deduplicated, sorted by id), and why
 * it refused the addresses it refused (one message each, in slice order). */
export interface SlicePart {
  readonly endpoints: readonly Endpoint[];
  readonly refused: readonly string[];
}

/** A Service port's endpoints merged from its slices' parts; `dupes`: some id came from more than one slice. */
interface Merged {
  readonly endpoints: readonly Endpoint[];
  readonly dupes: boolean;
}

/** Which of two endpoints with one id a merge keeps (build/endpoints.ts `better`). */
export type Better = (a: Endpoint, b: Endpoint) => boolean;

/**
 * The endpoints of a Service port, kept per EndpointSlice object and per list of slices (issue 13 item 3): a
 * Service of 10,000 endpoints comes in ~100 slices of 100, and one pod coming or going replaces one slice, so
 * only that slice is read again, and the Service's list is the last one with that slice's part swapped (one
 * walk, no sort) when no id is listed by two slices. Keys are the (immutable) slice objects and the
 * ViewIndex's slice lists, so a part lives as long as its slice does. The result is the same with or without
 * a cache (test/controller/incremental.test.ts).
 */
export class EndpointParts {
  readonly #parts = new WeakMap<object, Map<string, SlicePart>>();
  readonly #merged = new WeakMap<readonly object[], Map<string, Merged>>();

  /** The part of `slice` under `key` (port name, namespace, screen), computed by `read` the first time. */
  part(slice: object, key: string, read: () => SlicePart): SlicePart {
    let byKey = this.#parts.get(slice);
    if (byKey === undefined) {
      byKey = new Map();
      this.#parts.set(slice, byKey);
    }
    let part = byKey.get(key);
    if (part === undefined) {
      part = read();
      byKey.set(key, part);
    }
    return part;
  }

  /** The endpoints of the slice list `slices` (whose parts under `key` are `parts`), merged once per list. */
  merged(
    slices: readonly object[],
    key: string,
    parts: readonly SlicePart[],
    better: Better,
  ): readonly Endpoint[] {
    let byKey = this.#merged.get(slices);
    if (byKey === undefined) {
      byKey = new Map();
      this.#merged.set(slices, byKey);
    }
    let merged = byKey.get(key);
    if (merged === undefined) {
      merged =
        this.#swapped(slices, key, parts) ??
        mergeParts(
          parts.map((p) => p.endpoints),
          better,
        );
      byKey.set(key, merged);
    }
    return merged.endpoints;
  }

  // The last list of the Service with one slice's part swapped for its replacement's, when the ViewIndex
  // says `slices` is the last list with one slice replaced and no id was listed twice.
  #swapped(slices: readonly object[], key: string, parts: readonly SlicePart[]): Merged | undefined {
    const d = sliceListDerivation(slices);
    if (d === undefined) return undefined;
    const last = this.#merged.get(d.from)?.get(key);
    const old = this.#parts.get(d.from[d.at] as object)?.get(key);
    const next = parts[d.at];
    if (last === undefined || last.dupes || old === undefined || next === undefined) return undefined;
    return swapPart(last.endpoints, old.endpoints, next.endpoints);
  }
}

/**
 * `merged` without the endpoints of `old` (which it holds as themselves, in order) and with those of `next`,
 * sorted by id: one walk. Undefined when an id of `next` is also another slice's (a merge decides that one).
 */
function swapPart(
  merged: readonly Endpoint[],
  old: readonly Endpoint[],
  next: readonly Endpoint[],
): Merged | undefined {
  const out: Endpoint[] = [];
  let i = 0;
  let j = 0;
  for (const e of merged) {
    if (i < old.length && e === old[i]) {
      i++;
      continue;
    }
    while (j < next.length && (next[j] as Endpoint).id < e.id) out.push(next[j++] as Endpoint);
    if (j < next.length && (next[j] as Endpoint).id === e.id) return undefined;
    out.push(e);
  }
  if (i !== old.length) return undefined;
  while (j < next.length) out.push(next[j++] as Endpoint);
  return { endpoints: out, dupes: false };
}

/**
 * One list sorted by id from lists each sorted by id, an id listed more than once (the EndpointSlice API allows
 * it: a dual-stack Pod, a Pod moving between slices) kept once, the one `better` prefers. Concatenated runs
 * sort in about n log(runs) (V8's TimSort merges the ascending runs it finds).
 */
export function mergeParts(parts: readonly (readonly Endpoint[])[], better: Better): Merged {
  const all: Endpoint[] = [];
  for (const p of parts) for (const e of p) all.push(e);
  if (parts.length > 1) all.sort((a, b) => compareStrings(a.id, b.id));
  let kept = 0;
  let dupes = false;
  for (let i = 0; i < all.length; i++) {
    const e = all[i] as Endpoint;
    const last = kept > 0 ? (all[kept - 1] as Endpoint) : undefined;
    if (last !== undefined && last.id === e.id) {
      dupes = true;
      if (better(e, last)) all[kept - 1] = e;
      continue;
    }
    all[kept++] = e;
  }
  all.length = kept;
  return { endpoints: all, dupes };
}
