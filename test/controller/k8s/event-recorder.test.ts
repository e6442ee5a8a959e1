/**
 * The Event recorder's de-duplication memory is bounded (issue 10 item 10): tenants can produce any number of
 * distinct diagnostics, so an unbounded set is a slow leak. Requests go to a fake KubeRest that counts them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { EventRecorder } from '../../../src/controller/k8s/event-recorder.ts';
import type { KubeRest } from '../../../src/controller/k8s/kube-rest.ts';
import type { Diagnostic } from '../../../src/controller/view.ts';

const diagnostic = (i: number): Diagnostic => ({
  severity: 'Warning',
  object: { kind: 'Ingress', namespace: 'tenant', name: `ing-${i}` },
  reason: 'InvalidAnnotation',
  message: `problem ${i}`,
});

test('after many distinct events the memory stays at its bound and recent ones are still de-duplicated', async () => {
  let posts = 0;
  const rest = {
    request: async () => {
      posts++;
      return {};
    },
  } as unknown as KubeRest;
  const recorder = new EventRecorder({ rest, logger: pino({ level: 'silent' }), instance: 'x', memory: 100 });
  const all = Array.from({ length: 5_000 }, (_, i) => diagnostic(i));
  for (let i = 0; i < all.length; i += 500) {
    await recorder.record(all.slice(i, i + 500), () => undefined);
    assert.ok(recorder.remembered <= 100, `remembered ${recorder.remembered}`);
  }
  assert.equal(posts, 5_000);
  // The most recent 100 are remembered: recording them again sends nothing.
  await recorder.record(all.slice(-100), () => undefined);
  assert.equal(posts, 5_000);
  // An old one was forgotten: one more request (the API server's 409 would de-duplicate it there).
  await recorder.record([all[0] as Diagnostic], () => undefined);
  assert.equal(posts, 5_001);
  assert.equal(recorder.remembered, 100);
});
