import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateView, withIngressChange, withSliceChange } from '../../bench/lib/cp-view.ts';
import { ThreadedPublisher } from '../../src/controller/build-thread/threaded-publisher.ts';
import { SnapshotPublisher } from '../../src/controller/publisher.ts';
import { type ClusterView, emptyView } from '../../src/controller/view.ts';
import { canonicalJson, type Snapshot } from '../../src/snapshot/index.ts';
import { makeCert } from '../dataplane/helpers/certs.ts';

const OPTIONS = { ingressClass: 'sticky', allowLoopbackEndpoints: true };
type Lists = Record<string, object[]>;

// One store event: an Ingress edited, a slice replaced, an Ingress (and its host) removed or put back, a
// Secret rotated, a broken Ingress (a diagnostic and a status that says so).
function change(view: ClusterView, k: number, removed: object[]): ClusterView {
  const n = view.ingresses.length;
  switch (k % 6) {
    case 0:
      return withIngressChange(view, k % n, 100 + k);
    case 1:
      return withSliceChange(view, (k * 7) % n, 8080, 1 + (k % 3));
    case 2: {
      const ingresses = view.ingresses.slice();
      removed.push(...ingresses.splice((k * 3) % n, 1));
      return { ...view, ingresses };
    }
    case 3: {
      const back = removed.shift();
      return back ? { ...view, ingresses: [...view.ingresses, back as never] } : view;
    }
    case 4: {
      const secrets = (view.secrets as unknown as Lists[string]).slice();
      const i = (k * 5) % secrets.length;
      const s = secrets[i] as { metadata: object; data: Record<string, string> };
      secrets[i] = { ...s, metadata: { ...s.metadata, resourceVersion: String(k) }, data: { ...s.data } };
      return { ...view, secrets: secrets as never };
    }
    default: {
      const ingresses = view.ingresses.slice();
      const i = (k * 11) % n;
      const old = ingresses[i] as unknown as { metadata: { annotations: Record<string, string> } };
      const annotations = { ...old.metadata.annotations, 'sticky-ingress.dev/load-balance': `nope-${k}` };
      ingresses[i] = { ...old, metadata: { ...old.metadata, annotations } } as never;
      return { ...view, ingresses };
    }
  }
}

test('the build thread publishes what the in-thread publisher does, change after change', async () => {
  const pem = await makeCert(['bench']);
  const direct: Snapshot[] = [];
  const threaded: Snapshot[] = [];
  const inThread = new SnapshotPublisher(OPTIONS, (s) => direct.push(s));
  const offThread = new ThreadedPublisher(OPTIONS, (s) => threaded.push(s));
  try {
    let view = generateView(40, 8080, pem);
    const removed: object[] = [];
    for (let k = 0; k < 36; k++) {
      if (k > 0) view = change(view, k, removed);
      const a = inThread.publish(view);
      const b = await offThread.publish(view);
      assert.equal(b.changed, a.changed, `k ${k}: changed`);
      assert.equal(b.snapshot.hash, a.snapshot.hash, `k ${k}: hash`);
      assert.equal(canonicalJson(b.snapshot), canonicalJson(a.snapshot), `k ${k}: snapshot`);
      assert.deepEqual(b.result.diagnostics, a.result.diagnostics, `k ${k}: diagnostics`);
      assert.deepEqual(b.result.statuses, a.result.statuses, `k ${k}: statuses`);
      assert.ok(Object.isFrozen(b.snapshot) && Object.isFrozen(b.snapshot.hosts[0]), `k ${k}: frozen`);
    }
    assert.equal(threaded.length, direct.length);
    assert.ok(
      direct.some((s) => s.hosts.length < 40),
      'a host was removed on the way',
    );
    assert.ok(
      inThread.publish(view).result.diagnostics.some((d) => d.reason === 'InvalidAnnotation'),
      'the sequence carries a diagnostic',
    );
  } finally {
    await offThread.close();
  }
});

test('an edited Ingress comes back as its backend: every other part is the live object', async () => {
  const pem = await makeCert(['bench']);
  const offThread = new ThreadedPublisher(OPTIONS, () => {});
  try {
    let view = generateView(60, 8080, pem);
    const first = (await offThread.publish(view)).snapshot;
    view = withIngressChange(view, 17, 5);
    const out = await offThread.publish(view);
    assert.equal(out.changed, true);
    // Its cookie was renamed: a backend setting. Its host names the backend by id and stays as it was.
    assert.equal(out.snapshot.hosts, first.hosts, 'the host list is the same array');
    assert.equal(out.snapshot.certificates, first.certificates, 'the certificate list is the same array');
    const fresh = out.snapshot.backends.filter((b, i) => b !== first.backends[i]);
    assert.deepEqual(
      fresh.map((b) => [b.id, b.affinity?.cookie?.name]),
      [['ns-17/app-17:http', 'S5']],
    );
    // The statuses did not change content: status sync gets the same list and skips.
    const again = await offThread.publish(withSliceChange(view, 3, 8080, 2));
    assert.equal(again.result.statuses, out.result.statuses);
    assert.equal(
      again.snapshot.hosts,
      out.snapshot.hosts,
      'an endpoint change leaves the host list as it is',
    );
  } finally {
    await offThread.close();
  }
});

test('a view the thread cannot take is refused, the live snapshot stays, and the next view builds', async () => {
  const pem = await makeCert(['bench']);
  const applied: Snapshot[] = [];
  const offThread = new ThreadedPublisher(OPTIONS, (s) => applied.push(s));
  try {
    const view = generateView(5, 8080, pem);
    await offThread.publish(view);
    const live = offThread.current;
    // Not something the store produces (functions do not cross threads): stands in for any send failure.
    const bad = { ...view, ingresses: [...view.ingresses, { metadata: { name: 'x' }, spec: () => {} }] };
    await assert.rejects(offThread.publish(bad as never), { code: 'STICKY_ERR_BUILD_THREAD' });
    assert.equal(offThread.current, live);
    assert.equal(applied.length, 1);
    const next = await offThread.publish(withIngressChange(view, 2, 9));
    assert.equal(next.changed, true);
    assert.equal(applied.length, 2);
    assert.ok(next.snapshot.version > live!.version, 'versions keep growing across a new thread');
    assert.equal(
      canonicalJson(next.snapshot.hosts),
      canonicalJson(
        new SnapshotPublisher(OPTIONS, () => {}).publish(withIngressChange(view, 2, 9)).snapshot.hosts,
      ),
    );
  } finally {
    await offThread.close();
  }
  await assert.rejects(offThread.publish(emptyView()), { code: 'STICKY_ERR_BUILD_THREAD' });
});

test('an empty view publishes version 1, as the in-thread publisher does (readiness waits for it)', async () => {
  const applied: Snapshot[] = [];
  const offThread = new ThreadedPublisher(OPTIONS, (s) => applied.push(s));
  try {
    const out = await offThread.publish(emptyView());
    assert.equal(out.changed, true);
    assert.deepEqual(
      applied.map((s) => s.version),
      [new SnapshotPublisher(OPTIONS, () => {}).publish(emptyView()).snapshot.version],
    );
    assert.equal(applied[0]!.version, 1);
    assert.equal((await offThread.publish(emptyView())).changed, false);
  } finally {
    await offThread.close();
  }
});
