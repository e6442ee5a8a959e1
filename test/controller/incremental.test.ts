import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BuildCache, build } from '../../src/controller/build/index.ts';
import { type ClusterView, emptyView } from '../../src/controller/view.ts';
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

// A big Service as the EndpointSlice controller splits it (issue 13 item 3): `web` in slices of up to 15
// endpoints drawn from 120 pods, so slices share pods (a pod moving between slices is listed twice for a
// while; the API allows it), with every combination of conditions, an IPv6 slice of the same pods (dual
// stack), now and then a port change or a loopback address (refused: a full build). `api` sits behind an
// Ingress with default-backend, whose routes depend on readiness: its slices must take the full build.
const BIG_NS = 'big';
const flag = (pick: (n: number) => number) => [true, false, undefined][pick(3)];

function bigSlice(name: string, pick: (n: number) => number, service = 'web', pods = 120): Obj {
  const ipv6 = pick(8) === 0;
  const endpoints = Array.from({ length: pick(16) }, () => {
    const pod = pick(pods);
    const address = ipv6
      ? `fd00::${pod.toString(16)}`
      : pick(40) === 0
        ? '127.0.0.1'
        : `10.${pod >> 16}.${(pod >> 8) & 255}.${pod & 255}`;
    return {
      addresses: [address],
      conditions: { ready: flag(pick), serving: flag(pick), terminating: flag(pick) },
      targetRef: { kind: 'Pod', namespace: BIG_NS, name: `${service}-${pod}` },
    };
  });
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: BIG_NS, labels: { 'kubernetes.io/service-name': service } },
    addressType: ipv6 ? 'IPv6' : 'IPv4',
    ports: [{ name: 'http', port: pick(10) === 0 ? 8081 : 8080, protocol: 'TCP' }],
    endpoints,
  };
}

function bigView(pick: (n: number) => number, pods = 120): Lists {
  const ingress = (name: string, service: string, annotations: Record<string, string> = {}) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: BIG_NS, creationTimestamp: '2025-01-01T00:00:00Z', annotations },
    spec: {
      ingressClassName: 'sticky',
      rules: [
        {
          host: `${name}.example.com`,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: service, port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    },
  });
  const service = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: BIG_NS },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  const view = emptyView() as unknown as Lists;
  view.ingresses = [
    ingress('web', 'web', { 'sticky-ingress.dev/affinity': 'cookie' }),
    ingress('api', 'api', { 'nginx.ingress.kubernetes.io/default-backend': 'fallback' }),
  ];
  view.services = [service('web'), service('api'), service('fallback')];
  view.endpointSlices = [
    ...Array.from({ length: 12 }, (_, s) => bigSlice(`web-${s}`, pick, 'web', pods)),
    bigSlice('api-0', pick, 'api'),
    bigSlice('fallback-0', pick, 'fallback'),
  ];
  return view;
}

function bigSliceChange(view: Lists, pick: (n: number) => number, pods: number): Lists {
  const list = view.endpointSlices.slice();
  const op = pick(10);
  if (op === 0 && list.length > 1) list.splice(pick(list.length), 1);
  else if (op === 1) list.push(bigSlice(`web-${12 + pick(4)}`, pick, 'web', pods));
  else if (op === 2) {
    const service = ['api', 'fallback'][pick(2)]!;
    const i = list.findIndex((s) => (s as Obj).metadata?.name === `${service}-0`);
    if (i >= 0) list[i] = bigSlice(`${service}-0`, pick, service);
  } else if (list.length > 0) {
    // Replace one slice of web (same name, new object): pods come, go or move, conditions flip.
    const i = pick(list.length);
    const name = String((list[i] as Obj).metadata?.name);
    if (name.startsWith('web-')) list[i] = bigSlice(name, pick, 'web', pods);
  }
  return { ...view, endpointSlices: list };
}

test('a Service split over many slices (moves, duplicates, conditions, dual stack) patches equal to a fresh build', () => {
  let fast = 0;
  let steps = 0;
  // 120 pods: slices share pods often (merges); 100,000: almost never (one slice's part swapped in place).
  for (const [seed, pods] of [
    [2, 120],
    [17, 120],
    [23, 100_000],
    [29, 100_000],
  ] as const) {
    const pick = random(seed);
    const cache = new BuildCache();
    let view = bigView(pick, pods);
    let last = build(view as unknown as ClusterView, BASE_OPTIONS, cache);
    finalizeSnapshot(last.body, 0);
    for (let step = 0; step < 150; step++) {
      view = bigSliceChange(view, pick, pods);
      const cached = build(view as unknown as ClusterView, BASE_OPTIONS, cache);
      const fresh = build(view as unknown as ClusterView, BASE_OPTIONS);
      assert.equal(canonicalJson(cached), canonicalJson(fresh), `seed ${seed}, step ${step}`);
      if (cached.body.hosts === last.body.hosts) fast++;
      steps++;
      finalizeSnapshot(cached.body, step + 1);
      last = cached;
    }
  }
  // web's slice changes take the fast path although another Ingress has default-backend (only api's and
  // fallback's readiness shapes a route); refused loopback addresses and api/fallback changes build in full.
  assert.ok(fast > steps / 2, `fast path taken ${fast} times of ${steps}`);
});

test('a change of one slice of a 10,000-endpoint Service reads only that slice', () => {
  const pick = random(8);
  const reads = { n: 0 };
  // The slice's endpoints behind a getter that counts: what the builder reads, not what it computes.
  const counted = (slice: Obj): Obj => {
    const { endpoints, ...rest } = slice;
    return Object.defineProperty(rest, 'endpoints', {
      enumerable: true,
      get: () => {
        reads.n++;
        return endpoints;
      },
    });
  };
  const full = (s: number, from = 0): Obj =>
    counted({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `web-${String(s).padStart(3, '0')}`,
        namespace: BIG_NS,
        labels: { 'kubernetes.io/service-name': 'web' },
      },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: Array.from({ length: 100 - from }, (_, k) => ({
        addresses: [`10.${s}.0.${k + from}`],
        conditions: { ready: k % 7 !== 0 },
        targetRef: { kind: 'Pod', namespace: BIG_NS, name: `web-${s}-${k + from}` },
      })),
    });
  const view = bigView(pick);
  view.endpointSlices = Array.from({ length: 100 }, (_, s) => full(s));
  const cache = new BuildCache();
  const first = build(view as unknown as ClusterView, BASE_OPTIONS, cache);
  finalizeSnapshot(first.body, 1);
  const web = first.body.backends.find((b) => b.service.name === 'web');
  assert.equal(web?.endpoints.length, 10_000);
  const slices = view.endpointSlices.slice();
  slices[42] = full(42, 1); // one pod of slice 42 went away
  reads.n = 0;
  const next = { ...view, endpointSlices: slices } as unknown as ClusterView;
  const second = build(next, BASE_OPTIONS, cache);
  assert.equal(reads.n, 1, 'only the replaced slice is read');
  assert.equal(second.body.hosts, first.body.hosts, 'the fast path');
  assert.equal(second.body.backends.find((b) => b.service.name === 'web')?.endpoints.length, 9_999);
  assert.equal(canonicalJson(second), canonicalJson(build(next, BASE_OPTIONS)));
});
