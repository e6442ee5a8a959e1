import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  generateBigServiceView,
  generateView,
  withBigSliceChange,
  withIngressChange,
  withSliceChange,
} from '../../bench/lib/cp-view.ts';
import { applyDelta, snapshotDelta } from '../../cmd/cluster/snapshot-delta.ts';
import { SnapshotPublisher } from '../../src/controller/publisher.ts';
import type { ClusterView } from '../../src/controller/view.ts';
import { canonicalJson, finalizeSnapshot, type Snapshot, SnapshotHasher } from '../../src/snapshot/index.ts';
import { makeCert } from '../dataplane/helpers/certs.ts';

// What crosses node:cluster IPC: plain JSON.
const overIpc = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

test('`--workers` get every change as a delta of what changed that rebuilds the primary snapshot exactly', async () => {
  const pem = await makeCert(['bench']);
  const sent: Snapshot[] = [];
  const publisher = new SnapshotPublisher({ ingressClass: 'sticky', allowLoopbackEndpoints: true }, (s) =>
    sent.push(s),
  );
  let view: ClusterView = generateView(60, 8080, pem);
  publisher.publish(view);
  // The worker's side: the first snapshot whole, as worker.ts re-freezes it.
  const hasher = new SnapshotHasher();
  const { version, hash, ...body } = overIpc(sent[0]!);
  let worker: Snapshot | undefined = finalizeSnapshot(body, version, hasher);
  assert.equal(worker.hash, hash);
  let deltas = 0;
  let ingressDeltas = 0;
  for (let k = 0; k < 40; k++) {
    // Mostly EndpointSlice events (pods scaling), now and then an Ingress edit (its host and backend).
    const edit = k % 10 === 9;
    view = edit
      ? withIngressChange(view, 1 + (k % 59), k)
      : withSliceChange(view, 1 + ((k * 7) % 59), 8080, 1 + (k % 4));
    const before = sent.length;
    publisher.publish(view);
    if (sent.length === before) continue;
    const previous = sent[before - 1]!;
    const next = sent[before]!;
    const delta = snapshotDelta(previous, next);
    assert.ok(delta !== undefined, `k ${k}: a change after the first goes as a delta`);
    deltas++;
    // Only the backends of Services whose slices changed since the last snapshot sent (a change that
    // published nothing, e.g. back to the same endpoints, may leave one more), never the whole list; an
    // edited Ingress (its affinity cookie renamed) its backend, not the backends that full build made anew
    // with the same content, and no host (a route names the backend by id).
    const backends = delta.backends?.put.length ?? 0;
    assert.ok(backends >= 1 && backends <= 2, `k ${k}: ${backends} backends in the delta`);
    assert.equal(delta.hosts, undefined, `k ${k}: no host in the delta`);
    assert.equal(delta.certificates, undefined);
    if (edit) ingressDeltas++;
    worker = applyDelta(worker, overIpc(delta), hasher);
    assert.ok(worker !== undefined);
    assert.equal(worker.hash, next.hash);
    assert.equal(canonicalJson(worker), canonicalJson(next));
  }
  assert.equal(ingressDeltas, 4);
  assert.ok(deltas >= 30, `${deltas} deltas of 40 changes`);
});

test('a delta for another base is refused, so the worker asks for the whole snapshot', async () => {
  const pem = await makeCert(['bench']);
  const sent: Snapshot[] = [];
  const publisher = new SnapshotPublisher({ ingressClass: 'sticky', allowLoopbackEndpoints: true }, (s) =>
    sent.push(s),
  );
  let view: ClusterView = generateView(5, 8080, pem);
  publisher.publish(view);
  view = withSliceChange(view, 1, 8080, 2);
  publisher.publish(view);
  view = withSliceChange(view, 2, 8080, 1);
  publisher.publish(view);
  const delta = snapshotDelta(sent[1], sent[2]!);
  assert.ok(delta !== undefined);
  // The worker still has the first snapshot (it missed one): the delta does not fit it.
  assert.equal(applyDelta(sent[0], delta, new SnapshotHasher()), undefined);
  assert.equal(applyDelta(undefined, delta, new SnapshotHasher()), undefined);
});

test("a delta for one slice of a 2,000-endpoint Service keeps the worker's other endpoint objects", async () => {
  const pem = await makeCert(['bench']);
  const sent: Snapshot[] = [];
  const publisher = new SnapshotPublisher({ ingressClass: 'sticky', allowLoopbackEndpoints: true }, (s) =>
    sent.push(s),
  );
  let view: ClusterView = generateBigServiceView(2000, 8080, pem);
  publisher.publish(view);
  const hasher = new SnapshotHasher();
  const { version, hash, ...body } = overIpc(sent[0]!);
  let worker: Snapshot | undefined = finalizeSnapshot(body, version, hasher);
  assert.equal(worker.hash, hash);
  for (let k = 0; k < 6; k++) {
    view = withBigSliceChange(view, 3 + k, 8080, 99 - (k % 2));
    publisher.publish(view);
    const delta = snapshotDelta(sent.at(-2), sent.at(-1)!);
    assert.ok(delta !== undefined && delta.backends?.put.length === 1 && !delta.hosts, `k ${k}`);
    const before = new Set(worker.backends[0]!.endpoints);
    worker = applyDelta(worker, overIpc(delta), hasher);
    assert.ok(worker !== undefined);
    assert.equal(worker.hash, sent.at(-1)!.hash);
    assert.equal(canonicalJson(worker), canonicalJson(sent.at(-1)));
    // Only the changed slice's endpoints are new objects (at most 100 of 2,000).
    const reused = worker.backends[0]!.endpoints.filter((e) => before.has(e)).length;
    assert.ok(reused >= 1_890, `${reused} endpoint objects reused`);
  }
});
