import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from '../../src/controller/build/index.ts';
import type { ClusterView } from '../../src/controller/view.ts';

const GARBAGE: unknown[] = [
  null,
  undefined,
  42,
  'ingress',
  [],
  {},
  { metadata: null },
  { metadata: { name: 7, namespace: ['x'] }, spec: 'no' },
  { metadata: { name: 'n' }, spec: null },
  { metadata: { name: 'n', annotations: 'x', creationTimestamp: 'yesterday' }, spec: { rules: 'all' } },
  {
    metadata: { name: 'n' },
    spec: { ingressClassName: 'sticky', rules: [null, 1, { host: 5, http: { paths: [null, { path: 3 }] } }] },
  },
  {
    metadata: { name: 'n', annotations: { 'sticky-ingress.dev/affinity': { cookie: true } } },
    spec: {
      ingressClassName: 'sticky',
      tls: [
        { hosts: 'x', secretName: 5 },
        { hosts: [null, 'a.example.com'], secretName: 's' },
      ],
      defaultBackend: { service: { name: 'svc', port: { number: 'eighty' } } },
      rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Regex', backend: 1 }] } }],
    },
  },
  {
    metadata: { name: 'n' },
    spec: { ingressClassName: 'sticky', defaultBackend: { resource: { kind: 'Bucket' } } },
  },
];

const SERVICES: unknown[] = [
  null,
  { metadata: { name: 'svc' }, spec: { ports: 'all' } },
  { metadata: { name: 'svc2' }, spec: { ports: [null, { port: 'x' }] } },
];
const SLICES: unknown[] = [
  null,
  { metadata: { labels: null } },
  {
    metadata: { name: 's', labels: { 'kubernetes.io/service-name': 'svc' } },
    addressType: 'IPv4',
    ports: [{ port: 99999 }],
    endpoints: 'many',
  },
  {
    metadata: { name: 't', labels: { 'kubernetes.io/service-name': 'svc2' } },
    addressType: 'IPv4',
    ports: [{}],
    endpoints: [null, { addresses: ['not-an-ip'] }, { addresses: [] }],
  },
];
const SECRETS: unknown[] = [
  null,
  { metadata: { name: 's' }, data: { 'tls.crt': '!!!', 'tls.key': 5 } },
  { metadata: { name: 's2' }, data: null },
];
const ROUTES: unknown[] = [
  null,
  5,
  { metadata: { name: 'r' } },
  { metadata: { name: 'r2' }, spec: { hosts: 'x', routes: {} } },
];

test('garbage objects produce diagnostics, never an exception', () => {
  const view = {
    ingresses: GARBAGE,
    ingressClasses: [null, { spec: 5 }, ...GARBAGE],
    services: SERVICES,
    endpointSlices: SLICES,
    secrets: SECRETS,
    stickyRoutes: ROUTES,
  } as unknown as ClusterView;
  const result = build(view, { ingressClass: 'sticky', defaultCertificate: 'nope' });
  assert.ok(result.diagnostics.length > 5);
  assert.ok(
    result.diagnostics.every((d) => d.object.kind !== 'Build'),
    'no object escaped its guard',
  );
  assert.ok(result.statuses.some((s) => s.kind === 'StickyRoute' && s.name === 'r2' && !s.accepted));
});

test('a view that is not even a view yields an empty snapshot', () => {
  for (const view of [null, undefined, {}, { ingresses: 'x' }, 5]) {
    const result = build(view as unknown as ClusterView, { ingressClass: 'sticky' });
    assert.deepEqual(result.body.hosts, []);
    assert.deepEqual(result.body.backends, []);
  }
});

test('an exception inside one object is contained: the others still build', () => {
  const hostile = {
    metadata: { name: 'hostile', namespace: 'default' },
    get spec(): never {
      throw new Error('boom');
    },
  };
  const fine = {
    metadata: { name: 'fine', namespace: 'default' },
    spec: {
      ingressClassName: 'sticky',
      rules: [
        {
          host: 'a.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'svc', port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  };
  const view = {
    ingresses: [hostile, fine],
    ingressClasses: [],
    services: [],
    endpointSlices: [],
    secrets: [],
    stickyRoutes: [],
  };
  const result = build(view as unknown as ClusterView, { ingressClass: 'sticky' });
  assert.deepEqual(
    result.body.hosts.map((h) => h.hostname),
    ['a.example.com'],
  );
  const internal = result.diagnostics.find((d) => d.reason === 'InternalError');
  assert.equal(internal?.object.name, 'hostile');
  assert.match(internal?.message ?? '', /boom/);
});
