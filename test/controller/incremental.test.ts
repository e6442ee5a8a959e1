import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BuildCache, build } from '../../src/controller/build/index.ts';
import type { ClusterView } from '../../src/controller/view.ts';
import { canonicalJson, finalizeSnapshot } from '../../src/snapshot/hash.ts';
import { BASE_OPTIONS, viewFromFile } from './golden-support.ts';

const CASES = join(import.meta.dirname, 'cases');
type Lists = Record<keyof ClusterView, unknown[]>;
type Obj = { metadata?: Record<string, unknown>; [k: string]: unknown };

// Every golden case in its own namespace, one view: many kinds of object, conflicts and broken references.
function everything(): Lists {
  const all = {} as Lists;
  for (const name of readdirSync(CASES).sort()) {
    if (name === 'class-name-taken-by-other-controller-ignored') continue;
    const view = viewFromFile(join(CASES, name, 'input.yaml')) as unknown as Lists;
    for (const [list, objects] of Object.entries(view) as [keyof ClusterView, unknown[]][]) {
      const moved = objects.map((o) => {
        const c = structuredClone(o) as Obj;
        if (c.metadata && c.metadata.namespace !== undefined) c.metadata.namespace = name.slice(0, 63);
        return c;
      });
      all[list] = [...(all[list] ?? []), ...moved];
    }
  }
  return all;
}

// A seeded generator: a failure reproduces with the same seed.
function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s % n;
  };
}

// One change as the store makes it: a new array for the changed list, a new object for the changed one.
function change(view: Lists, pool: Lists, pick: (n: number) => number): Lists {
  const kinds = Object.keys(view).filter((k) => k !== 'ingressClasses') as (keyof ClusterView)[];
  const kind = kinds[pick(kinds.length)]!;
  const list = view[kind].slice();
  const op = pick(4);
  if (op === 0 && list.length > 0) list.splice(pick(list.length), 1);
  else if (op === 1 && pool[kind].length > 0) list.push(pool[kind][pick(pool[kind].length)]);
  else if (list.length > 0) {
    const i = pick(list.length);
    const copy = structuredClone(list[i]) as Obj;
    if (op === 2 || kind !== 'endpointSlices')
      copy.metadata = { ...copy.metadata, resourceVersion: String(pick(1e6)) };
    else if (Array.isArray(copy.endpoints)) copy.endpoints = copy.endpoints.slice(pick(2));
    list[i] = copy;
  }
  return { ...view, [kind]: list };
}

test('a cached build equals a fresh build after every change of a random sequence', () => {
  const pool = everything();
  for (const seed of [1, 7, 99]) {
    const pick = random(seed);
    const cache = new BuildCache();
    let view = { ...pool };
    for (let step = 0; step < 120; step++) {
      view = change(view, pool, pick);
      const cached = build(view as unknown as ClusterView, BASE_OPTIONS, cache);
      const fresh = build(view as unknown as ClusterView, BASE_OPTIONS);
      assert.equal(canonicalJson(cached), canonicalJson(fresh), `seed ${seed}, step ${step}`);
      finalizeSnapshot(cached.body, step + 1); // freezes what later builds reuse, as the publisher does
    }
  }
});

test('an unchanged part of the snapshot is the same object in the next build', () => {
  const pool = everything();
  const cache = new BuildCache();
  const first = build(pool as unknown as ClusterView, BASE_OPTIONS, cache).body;
  // Drop one EndpointSlice: only the backends of that Service may be new objects.
  const slices = pool.endpointSlices.slice(1);
  const second = build(
    { ...pool, endpointSlices: slices } as unknown as ClusterView,
    BASE_OPTIONS,
    cache,
  ).body;
  // Gateway API objects are not memoised yet (they are re-processed on every build): only Ingress and
  // StickyRoute backends are expected to be shared.
  const memoised = second.backends.filter((b) => b.source.kind !== 'HTTPRoute');
  const same = memoised.filter((b) => first.backends.includes(b)).length;
  assert.ok(same > 0 && same >= memoised.length - 3, `${same} of ${memoised.length} shared`);
  assert.ok(second.hosts.some((h) => first.hosts.includes(h)));
  assert.ok(second.certificates.every((c) => first.certificates.includes(c)));
});

// One EndpointSlice change as pods scale or roll: a slice's endpoints trimmed, restored from the pool, a slice
// added or removed. Nothing else changes, so the store hands over the same arrays for every other kind.
function sliceChange(view: Lists, pool: Lists, pick: (n: number) => number): Lists {
  const list = view.endpointSlices.slice();
  const op = pick(4);
  if (op === 0 && list.length > 0) list.splice(pick(list.length), 1);
  else if (op === 1) list.push(pool.endpointSlices[pick(pool.endpointSlices.length)]);
  else if (list.length > 0) {
    const i = pick(list.length);
    const copy = structuredClone(list[i]) as Obj;
    if (Array.isArray(copy.endpoints)) copy.endpoints = copy.endpoints.slice(pick(3));
    list[i] = copy;
  }
  return { ...view, endpointSlices: list };
}

test('an endpoint-only change shares every host and untouched backend and equals a fresh build', () => {
  const pool = everything();
  let fast = 0;
  let steps = 0;
  for (const seed of [3, 11, 42]) {
    const pick = random(seed);
    const cache = new BuildCache();
    let view = { ...pool };
    let last = build(view as unknown as ClusterView, BASE_OPTIONS, cache);
    finalizeSnapshot(last.body, 0);
    for (let step = 0; step < 150; step++) {
      view = sliceChange(view, pool, pick);
      const cached = build(view as unknown as ClusterView, BASE_OPTIONS, cache);
      const fresh = build(view as unknown as ClusterView, BASE_OPTIONS);
      assert.equal(canonicalJson(cached), canonicalJson(fresh), `seed ${seed}, step ${step}`);
      steps++;
      // The fast path: the same host list and certificate list, and only backends of touched Services new.
      if (cached.body.hosts === last.body.hosts) {
        fast++;
        assert.equal(cached.body.certificates, last.body.certificates);
        const renewed = cached.body.backends.filter((b, i) => b !== last.body.backends[i]);
        const services = new Set(renewed.map((b) => `${b.service.namespace}/${b.service.name}`));
        assert.ok(services.size <= 2, `one slice touches one Service, got ${[...services].join(', ')}`);
      }
      finalizeSnapshot(cached.body, step + 1);
      last = cached;
    }
  }
  // Most slice changes take the fast path; the rest (refused addresses) are full builds, equal all the same.
  assert.ok(fast > steps / 2, `fast path taken ${fast} times of ${steps}`);
});

test('a change to anything but EndpointSlices after an endpoint-only one is a full build, equal to a fresh one', () => {
  const pool = everything();
  const pick = random(5);
  const cache = new BuildCache();
  let view = { ...pool };
  for (let step = 0; step < 120; step++) {
    view = step % 2 === 0 ? sliceChange(view, pool, pick) : change(view, pool, pick);
    const cached = build(view as unknown as ClusterView, BASE_OPTIONS, cache);
    const fresh = build(view as unknown as ClusterView, BASE_OPTIONS);
    assert.equal(canonicalJson(cached), canonicalJson(fresh), `step ${step}`);
    finalizeSnapshot(cached.body, step + 1);
  }
});
