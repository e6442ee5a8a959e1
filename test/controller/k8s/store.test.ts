import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { build } from '../../../src/controller/build/index.ts';
import { ClusterStore, type StoredObject } from '../../../src/controller/k8s/store.ts';

const meta = (namespace: string, name: string, rv: string, extra: Record<string, unknown> = {}) => ({
  metadata: { namespace, name, resourceVersion: rv, ...extra },
});
const ing = (name: string, rv: string, spec: Record<string, unknown>, annotations?: Record<string, string>) =>
  ({ ...meta('app', name, rv, annotations ? { annotations } : {}), spec }) as StoredObject;
const rule = (service: string) => ({
  rules: [
    { host: 'a.example.com', http: { paths: [{ path: '/', backend: { service: { name: service } } }] } },
  ],
});

describe('ClusterStore: which changes matter', () => {
  test('the same resourceVersion twice is not a change', () => {
    const store = new ClusterStore({ ingressClass: 'sticky' });
    const obj = ing('a', '1', { ingressClassName: 'sticky', ...rule('web') });
    assert.equal(store.upsert('Ingress', obj), true);
    assert.equal(store.upsert('Ingress', { ...obj }), false);
    assert.equal(
      store.upsert('Ingress', ing('a', '2', { ingressClassName: 'sticky', ...rule('web') })),
      true,
    );
  });

  test('Services, EndpointSlices and Secrets matter only when an own Ingress or a StickyRoute names them', () => {
    const store = new ClusterStore({ ingressClass: 'sticky' });
    assert.equal(store.upsert('Service', meta('app', 'web', '1')), false, 'nobody references it yet');
    const slice = meta('app', 'web-x', '1', { labels: { 'kubernetes.io/service-name': 'web' } });
    assert.equal(store.upsert('EndpointSlice', slice), false);
    assert.equal(store.upsert('Secret', meta('app', 'tls', '1')), false);
    store.upsert(
      'Ingress',
      ing('a', '1', { ingressClassName: 'sticky', tls: [{ secretName: 'tls' }], ...rule('web') }),
    );
    assert.equal(store.upsert('Service', meta('app', 'web', '2')), true);
    assert.equal(
      store.upsert('EndpointSlice', { ...slice, metadata: { ...slice.metadata, resourceVersion: '2' } }),
      true,
    );
    assert.equal(store.upsert('Secret', meta('app', 'tls', '2')), true);
    assert.equal(store.upsert('Service', meta('other', 'web', '1')), false, 'same name, other namespace');
    assert.equal(store.remove('Secret', meta('app', 'tls', '2')), true);
    assert.equal(store.remove('Secret', meta('app', 'tls', '2')), false, 'already gone');
  });

  test('StickyRoute backends and TLS Secrets are references too; the default certificate always is', () => {
    const store = new ClusterStore({ ingressClass: 'sticky', defaultCertificate: 'sys/default' });
    assert.equal(store.upsert('Secret', meta('sys', 'default', '1')), true);
    store.upsert('StickyRoute', {
      ...meta('app', 'r', '1'),
      spec: { tls: { secretName: 'rt' }, routes: [{ backend: { service: { name: 'game' } } }] },
    } as StoredObject);
    assert.equal(store.upsert('Service', meta('app', 'game', '1')), true);
    assert.equal(store.upsert('Secret', meta('app', 'rt', '1')), true);
  });

  test('HTTPRoute backendRefs (also cross-namespace) and Gateway certificateRefs are references too', () => {
    const store = new ClusterStore({ ingressClass: 'sticky' });
    assert.equal(store.upsert('Service', meta('shared', 'api', '1')), false);
    assert.equal(store.upsert('Secret', meta('app', 'gw-tls', '1')), false);
    const route = {
      ...meta('app', 'r', '1'),
      spec: { rules: [{ backendRefs: [{ name: 'api', namespace: 'shared', port: 80 }] }] },
    } as StoredObject;
    store.upsert('HTTPRoute', route);
    const listeners = [
      { name: 'https', protocol: 'HTTPS', port: 443, tls: { certificateRefs: [{ name: 'gw-tls' }] } },
    ];
    store.upsert('Gateway', { ...meta('app', 'gw', '1'), spec: { listeners } } as StoredObject);
    assert.equal(store.upsert('Service', meta('shared', 'api', '2')), true);
    assert.equal(store.upsert('Secret', meta('app', 'gw-tls', '2')), true);
    assert.equal(store.view().httpRoutes?.length, 1);
    assert.equal(store.view().gateways?.length, 1);
  });

  test("another controller's Ingresses do not matter, and neither do the Services they name", () => {
    const store = new ClusterStore({ ingressClass: 'sticky' });
    assert.equal(
      store.upsert('Ingress', ing('n', '1', { ingressClassName: 'nginx', ...rule('legacy') })),
      false,
    );
    assert.equal(
      store.upsert('Ingress', ing('l', '1', rule('legacy'), { 'kubernetes.io/ingress.class': 'nginx' })),
      false,
    );
    assert.equal(store.upsert('Service', meta('app', 'legacy', '1')), false);
    // Moving an Ingress away from our class matters once (to drop its routes).
    store.upsert('Ingress', ing('m', '1', { ingressClassName: 'sticky', ...rule('web') }));
    assert.equal(store.upsert('Ingress', ing('m', '2', { ingressClassName: 'nginx', ...rule('web') })), true);
    assert.deepEqual(
      store.ownIngresses().map((i) => i.metadata?.name),
      [],
    );
  });

  test('IngressClasses decide ownership: a class of ours marked default claims class-less Ingresses', () => {
    const store = new ClusterStore({ ingressClass: 'sticky' });
    assert.equal(store.upsert('Ingress', ing('plain', '1', rule('web'))), false);
    store.upsert('IngressClass', {
      metadata: {
        name: 'sticky',
        resourceVersion: '1',
        annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' },
      },
      spec: { controller: 'sticky-ingress.dev/controller' },
    } as StoredObject);
    assert.deepEqual(
      store.ownIngresses().map((i) => i.metadata?.name),
      ['plain'],
    );
    assert.equal(store.upsert('Service', meta('app', 'web', '1')), true);
  });

  test('view() is sorted by namespace/name whatever the insertion order', () => {
    const store = new ClusterStore({ ingressClass: 'sticky' });
    for (const [ns, name] of [
      ['b', 'x'],
      ['a', 'z'],
      ['a', 'y'],
    ] as const)
      store.upsert('Service', meta(ns, name, '1'));
    assert.deepEqual(
      store.view().services.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`),
      ['a/y', 'a/z', 'b/x'],
    );
  });

  test('view() keeps the array of an unchanged kind and puts a replaced object in place in a new one', () => {
    const store = new ClusterStore({ ingressClass: 'sticky' });
    for (const name of ['c', 'a', 'b']) store.upsert('EndpointSlice', meta('app', name, '1'));
    store.upsert('Service', meta('app', 'web', '1'));
    const first = store.view();
    assert.equal(store.view().services, first.services, 'no change: same arrays');
    const replaced = meta('app', 'b', '2');
    store.upsert('EndpointSlice', replaced);
    const second = store.view();
    assert.equal(second.services, first.services);
    assert.notEqual(second.endpointSlices, first.endpointSlices);
    assert.deepEqual(second.endpointSlices[1], replaced, 'decoded at the edge: an equal copy');
    assert.equal(first.endpointSlices[1]?.metadata?.resourceVersion, '1', 'the earlier view is untouched');
    store.upsert('EndpointSlice', meta('app', 'aa', '1'));
    store.remove('EndpointSlice', meta('app', 'c', '1'));
    assert.deepEqual(
      store.view().endpointSlices.map((s) => s.metadata?.name),
      ['a', 'aa', 'b'],
    );
  });

  test('an object that does not decode is a diagnostic naming it; the rest keeps serving; a fixed one comes back', () => {
    const store = new ClusterStore({ ingressClass: 'sticky' });
    const spec = { ingressClassName: 'sticky', ...rule('web') };
    store.upsert('Ingress', ing('good', '1', spec));
    assert.equal(store.upsert('Ingress', ing('bad', '1', spec)), true);
    // The same object, now with a spec that is not an object and a creationTimestamp that is not a time.
    const broken = {
      ...meta('app', 'bad', '2', { creationTimestamp: 42 }),
      spec: 'rules: [',
    } as StoredObject;
    assert.equal(store.upsert('Ingress', broken), true, 'the diagnostic is news');
    const view = store.view();
    assert.deepEqual(
      view.ingresses.map((i) => i.metadata.name),
      ['good'],
      'the broken object is dropped, the other stays',
    );
    const out = build(view, { ingressClass: 'sticky' });
    const invalid = out.diagnostics.filter((d) => d.reason === 'InvalidObject');
    assert.deepEqual(
      invalid.map((d) => `${d.object.kind} ${d.object.namespace}/${d.object.name}`),
      ['Ingress app/bad'],
    );
    assert.match(invalid[0]?.message ?? '', /creationTimestamp/);
    assert.deepEqual(
      out.body.hosts.map((h) => h.hostname),
      ['a.example.com'],
      'the good Ingress keeps serving its host',
    );
    assert.equal(store.upsert('Ingress', ing('bad', '3', spec)), true);
    assert.deepEqual(store.view().rejected, []);
    assert.deepEqual(
      store.view().ingresses.map((i) => i.metadata.name),
      ['bad', 'good'],
    );
    store.upsert('Ingress', broken);
    assert.equal(store.remove('Ingress', broken), true, 'deleting a rejected object clears its diagnostic');
    assert.deepEqual(store.view().rejected, []);
  });
});

describe('ClusterStore: lists after a change', () => {
  test('an object added, replaced or removed goes to its sorted place; every other keeps its position', () => {
    const store = new ClusterStore({ ingressClass: 'sticky' });
    let s = 11;
    const pick = (n: number) => {
      s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
      return s % n;
    };
    const slice = (i: number, rv: number) =>
      ({
        ...meta(`ns-${i % 7}`, `web-${i}`, String(rv), { labels: { 'kubernetes.io/service-name': 'web' } }),
        addressType: 'IPv4',
        endpoints: [],
      }) as unknown as StoredObject;
    const live = new Map<string, number>();
    for (let step = 0; step < 300; step++) {
      const before = store.view().endpointSlices;
      const i = pick(60);
      if (live.has(`${i}`) && pick(3) === 0) {
        store.remove('EndpointSlice', slice(i, live.get(`${i}`)!));
        live.delete(`${i}`);
      } else {
        live.set(`${i}`, step + 1);
        store.upsert('EndpointSlice', slice(i, step + 1));
      }
      const after = store.view().endpointSlices;
      const keys = after.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`);
      assert.deepEqual(keys, [...keys].sort(), `step ${step}: sorted`);
      assert.equal(after.length, live.size);
      // One object in or out: the rest of the list is the same objects in the same order.
      const others = after.filter((o) => before.includes(o));
      assert.ok(others.length >= Math.min(before.length, after.length) - 1, `step ${step}`);
      assert.deepEqual(
        others,
        before.filter((o) => after.includes(o)),
      );
    }
  });
});
