import assert from 'node:assert/strict';
import { build } from '../../../src/controller/build/index.ts';
import type { Dataplane } from '../../../src/dataplane/dataplane.ts';
import { finalizeSnapshot } from '../../../src/snapshot/index.ts';
import { viewFromYaml } from '../../controller/golden-support.ts';

/**
 * Builds the Kubernetes objects in `yaml` as the controller does (class `sticky`, loopback endpoints allowed)
 * and applies the snapshot to `dp` as its next version. The test fails on any Error diagnostic whose reason is
 * not in `allowed`; `exact: true` fails on any diagnostic at all.
 */
export function applyYaml(
  dp: Dataplane,
  yaml: string,
  o: { allowed?: readonly string[]; exact?: boolean } = {},
): void {
  const result = build(viewFromYaml(yaml), { ingressClass: 'sticky', allowLoopbackEndpoints: true });
  const allowed = new Set(o.allowed ?? []);
  const unexpected = o.exact
    ? result.diagnostics
    : result.diagnostics.filter((d) => d.severity === 'Error' && !allowed.has(d.reason));
  assert.deepEqual(unexpected, []);
  dp.apply(finalizeSnapshot(result.body, dp.current.version + 1));
}
