import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from '../../src/controller/build/index.ts';
import type { ClusterView } from '../../src/controller/view.ts';
import { canonicalJson } from '../../src/snapshot/hash.ts';
import { BASE_OPTIONS, viewFromFile } from './golden-support.ts';

const CASES = join(import.meta.dirname, 'cases');

// Every golden case's objects in one view, so hosts, backends and conflicts from many cases interleave.
function everything(): ClusterView {
  const all: Record<string, unknown[]> = {};
  for (const name of readdirSync(CASES).sort()) {
    // That case hands the class name `sticky` to another controller, which would disown every other case.
    if (name === 'class-name-taken-by-other-controller-ignored') continue;
    const view = viewFromFile(join(CASES, name, 'input.yaml'));
    for (const [list, objects] of Object.entries(view)) {
      // Each case reuses names; a per-case namespace keeps them apart.
      all[list] = [...(all[list] ?? []), ...(objects as unknown[]).map((o) => inNamespace(o, name))];
    }
  }
  return all as unknown as ClusterView;
}

function inNamespace(obj: unknown, ns: string): unknown {
  const o = structuredClone(obj) as { metadata?: { namespace?: string } };
  if (o.metadata && o.metadata.namespace !== undefined) o.metadata.namespace = ns.slice(0, 63);
  return o;
}

// A seeded generator: a failure reproduces with the same seed.
function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('shuffling every list of the view gives an identical result', () => {
  const view = everything();
  const reference = canonicalJson(build(view, BASE_OPTIONS));
  // Most cases share chat.example.com, so the combined view is mostly conflicts: a good tie-breaking workout.
  const parsed = JSON.parse(reference);
  assert.ok(parsed.body.backends.length > 10 && parsed.diagnostics.length > 50, 'the combined view is rich');
  for (const seed of [1, 2, 3, 42, 1234]) {
    const shuffledView = Object.fromEntries(
      Object.entries(view).map(([k, v]) => [k, shuffled(v as unknown[], seed)]),
    ) as unknown as ClusterView;
    assert.equal(canonicalJson(build(shuffledView, BASE_OPTIONS)), reference, `seed ${seed}`);
  }
});

test('build does not mutate the view', () => {
  const view = everything();
  const before = canonicalJson(view);
  build(view, BASE_OPTIONS);
  assert.equal(canonicalJson(view), before);
});
