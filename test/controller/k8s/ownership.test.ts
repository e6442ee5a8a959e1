/**
 * The store (which decides whether a change triggers a rebuild) and the builder (which decides what is served)
 * answer "is this Ingress ours?" with the same function (issue 12 item 3): over a table of class setups, the
 * Ingresses the store calls ours are exactly those the builder gives a status.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from '../../../src/controller/build/index.ts';
import { ClusterStore } from '../../../src/controller/k8s/store.ts';

const ingress = (name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}) => ({
  metadata: { name, namespace: 'ns', resourceVersion: '1', annotations },
  spec: { rules: [], ...spec },
});
const cls = (name: string, controller: string, isDefault = false) => {
  const annotations: Record<string, string> = {};
  if (isDefault) annotations['ingressclass.kubernetes.io/is-default-class'] = 'true';
  return { metadata: { name, resourceVersion: '1', annotations }, spec: { controller } };
};

const INGRESSES = [
  ingress('by-name', { ingressClassName: 'sticky' }),
  ingress('by-other-name', { ingressClassName: 'nginx' }),
  ingress('by-our-second-class', { ingressClassName: 'edge' }),
  ingress('legacy-ours', {}, { 'kubernetes.io/ingress.class': 'sticky' }),
  ingress('legacy-other', {}, { 'kubernetes.io/ingress.class': 'nginx' }),
  ingress('no-class', {}),
];

const SETUPS = {
  'no IngressClass objects': [],
  'our class is the default': [cls('sticky', 'sticky-ingress.dev/controller', true)],
  'sticky belongs to someone else': [cls('sticky', 'example.com/other')],
  'two classes of ours, another default': [
    cls('sticky', 'sticky-ingress.dev/controller'),
    cls('edge', 'sticky-ingress.dev/controller'),
    cls('nginx', 'k8s.io/ingress-nginx', true),
  ],
};

for (const [setup, classes] of Object.entries(SETUPS)) {
  test(`store and builder agree on ownership: ${setup}`, () => {
    const store = new ClusterStore({ ingressClass: 'sticky' });
    for (const c of classes) store.upsert('IngressClass', c);
    for (const i of INGRESSES) store.upsert('Ingress', i);
    const byStore = store.ownIngresses().map((i) => i.metadata?.name);
    const byBuilder = build(store.view(), { ingressClass: 'sticky' })
      .statuses.filter((s) => s.kind === 'Ingress')
      .map((s) => s.name);
    assert.deepEqual(byStore, byBuilder);
  });
}
