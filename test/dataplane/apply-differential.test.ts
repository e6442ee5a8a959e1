import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import type { RequestFacts } from '../../src/dataplane/routing/decide.ts';
import type { BackendState } from '../../src/dataplane/upstream/upstreams.ts';
import {
  type Backend,
  type Certificate,
  type Endpoint,
  finalizeSnapshot,
  type ListenerCertificate,
  type Route,
  type Snapshot,
  SnapshotHasher,
  type VirtualHost,
} from '../../src/snapshot/index.ts';
import { makeCert, type TestCert } from './helpers/certs.ts';
import { peerCertificate } from './helpers/client.ts';
import { startDataplane, type TestDataplane } from './helpers/dataplane.ts';
import { seeded } from './upstream/fixtures.ts';

// Dataplane.apply of a general change reconciles only what changed (src/dataplane/swap.ts). This applies a
// sequence of generated snapshots, each sharing its unchanged parts with the last one as the builder does,
// to one long-lived dataplane, and each to a fresh dataplane from scratch, and compares what clients see.

const HOSTS = ['a.test', 'b.test', 'c.test', 'd.test', 'e.test', 'f.test', '*.w.test', '*'];
const NAMES = [
  'a.test',
  'b.test',
  'c.test',
  'd.test',
  'e.test',
  'f.test',
  'x.w.test',
  'y.l.test',
  'nope.test',
];
const BACKENDS = ['ns/b0:http', 'ns/b1:http', 'ns/b2:http', 'ns/b3:http', 'ns/b4:http', 'ns/b5:http'];
const CERTS = ['ns/c0', 'ns/c1', 'ns/c2', 'ns/c3'];
const PASSIVE = [
  { failures: 3, cooldownMs: 10_000 },
  { failures: 1, cooldownMs: 5_000 },
];
// Never probes within the test: the first probe is jittered over the interval (~23 days, under setTimeout's
// 2^31 ms), so a probe inside a few seconds has odds of about 1 in 500,000 per checker (and it would go to loopback).
const ACTIVE = {
  path: '/healthz',
  intervalMs: 2_000_000_000,
  timeoutMs: 1_000,
  healthyThreshold: 1,
  unhealthyThreshold: 1,
};
// Two settings for one path (the first backend's win) and a second path (a checker of its own).
const ACTIVES = [ACTIVE, { ...ACTIVE, timeoutMs: 2_000 }, { ...ACTIVE, path: '/ready' }];
const SOURCE = { kind: 'Ingress' as const, namespace: 'ns', name: 'ing' };

/** The world the generator edits: every object replaced only when it changes, lists rebuilt only then. */
class World {
  hosts = new Map<string, VirtualHost>();
  backends = new Map<string, Backend>();
  certs = new Map<string, Certificate>();
  defaultCertificate: string | undefined;
  /** Gateway API HTTPS listeners' certificates: a new list when they change, else the same one. */
  listeners: readonly ListenerCertificate[] | undefined;
  #lists: { hosts: VirtualHost[]; backends: Backend[]; certs: Certificate[] } = {
    hosts: [],
    backends: [],
    certs: [],
  };
  #dirty = { hosts: true, backends: true, certs: true };
  #hasher = new SnapshotHasher();
  #version = 0;
  readonly pick: (n: number) => number;
  readonly pems: TestCert[];

  constructor(random: () => number, pems: TestCert[]) {
    this.pick = (n) => Math.floor(random() * n);
    this.pems = pems;
  }

  any<T>(list: readonly T[]): T {
    return list[this.pick(list.length)] as T;
  }

  set(kind: 'hosts' | 'backends' | 'certs', key: string, value: unknown): void {
    const map = this[kind] as Map<string, unknown>;
    if (value === undefined) map.delete(key);
    else map.set(key, value);
    this.#dirty[kind] = true;
  }

  snapshot(): Snapshot {
    const sorted = <T>(m: Map<string, T>) =>
      [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
    if (this.#dirty.hosts) this.#lists.hosts = sorted(this.hosts);
    if (this.#dirty.backends) this.#lists.backends = sorted(this.backends);
    if (this.#dirty.certs) this.#lists.certs = sorted(this.certs);
    this.#dirty = { hosts: false, backends: false, certs: false };
    const { hosts, backends, certs } = this.#lists;
    const body = {
      hosts,
      backends,
      certificates: certs,
      ...(this.defaultCertificate ? { defaultCertificate: this.defaultCertificate } : {}),
      ...(this.listeners ? { listenerCertificates: this.listeners } : {}),
    };
    return finalizeSnapshot(body, ++this.#version, this.#hasher);
  }

  endpoint(k: number): Endpoint {
    return {
      id: `ns/pod-${k}:8080`,
      address: `127.0.0.${1 + (k % 3)}`,
      port: 1 + k,
      weight: 1 + this.pick(3),
      ready: this.pick(5) > 0,
      serving: true,
      terminating: this.pick(6) === 0,
    };
  }

  backend(id: string, endpoints?: readonly Endpoint[]): Backend {
    const list =
      endpoints ??
      [...new Set(Array.from({ length: this.pick(4) }, () => this.pick(12)))].map((k) => this.endpoint(k));
    return {
      id,
      service: { namespace: 'ns', name: id.slice(3, 5), port: 'http' },
      source: SOURCE,
      endpoints: [...list].sort((a, b) => (a.id < b.id ? -1 : 1)),
      balance: 'round-robin',
      ...(this.pick(2) === 0
        ? {
            affinity: {
              cookie: { name: 'route', path: '/', secure: 'auto' as const, httpOnly: true },
              mode: 'balanced' as const,
              changeOnFailure: true,
            },
          }
        : {}),
      timeouts: { connectMs: this.any([1_000, 2_000]), readMs: 5_000, tunnelIdleMs: 60_000 },
      retries: 1,
      health: { passive: this.any(PASSIVE), ...(this.pick(4) === 0 ? { active: this.any(ACTIVES) } : {}) },
      ...(this.pick(4) === 0
        ? { tls: { verify: false, secret: this.any(CERTS), serverName: 'up.test', sni: false } }
        : {}),
    };
  }

  route(host: string, k: number, path: string): Route {
    const r: Record<string, unknown> = {
      id: `Ingress/ns/${host}/${k}`,
      source: SOURCE,
      path,
      pathType: 'Prefix',
      backend: this.any(BACKENDS),
      redirect: { sslRedirect: this.pick(2) === 0, forceSslRedirect: false, code: 308 },
    };
    if (this.pick(5) === 0) {
      r.canary = { backend: this.any(BACKENDS), source: SOURCE, weight: 50, weightTotal: 100, sticky: false };
    }
    if (this.pick(5) === 0)
      r.split = [
        { backend: r.backend, weight: 1 },
        { backend: this.any(BACKENDS), weight: 1 },
      ];
    if (this.pick(4) === 0) r.limits = { rps: this.any([5, 10]), burstMultiplier: 1, whitelist: [] };
    return r as unknown as Route;
  }

  host(name: string): VirtualHost {
    const routes = [this.route(name, 0, '/api'), this.route(name, 1, '/')];
    return {
      hostname: name,
      ...(this.pick(3) > 0 && name !== '*' ? { tls: { certificate: this.any(CERTS) } } : {}),
      ...(this.pick(6) === 0 && !name.startsWith('*')
        ? { passthrough: { backend: this.any(BACKENDS) } }
        : {}),
      routes: routes.slice(this.pick(2)),
    };
  }

  cert(id: string): Certificate {
    const pem = this.any(this.pems);
    return { id, certPem: pem.certPem, keyPem: pem.keyPem };
  }

  /** One random edit; `endpointsOnly`: only some backends' endpoints (the controller's fast path). */
  edit(endpointsOnly: boolean): void {
    const op = endpointsOnly ? 0 : this.pick(10);
    const id = this.any(BACKENDS);
    const old = this.backends.get(id);
    if (op === 0 && old !== undefined) {
      // Endpoints move between backends: some leave, one of another backend's joins (a shared endpoint).
      const other = this.backends.get(this.any(BACKENDS));
      const moved = other?.endpoints[this.pick(Math.max(1, other.endpoints.length))];
      const kept = old.endpoints.filter(() => this.pick(3) > 0);
      const list = moved && !kept.some((e) => e.id === moved.id) ? [...kept, moved] : kept;
      const fresh = this.pick(2) === 0 ? [this.endpoint(this.pick(12))] : [];
      const ids = new Set(list.map((e) => e.id));
      const endpoints = [...list, ...fresh.filter((e) => !ids.has(e.id))].sort((a, b) =>
        a.id < b.id ? -1 : 1,
      );
      this.set('backends', id, { ...old, endpoints });
    } else if (op <= 1) this.set('backends', id, this.pick(4) === 0 ? undefined : this.backend(id));
    else if (op === 2 && old !== undefined) {
      // A policy switch over the very same endpoints: upstream TLS, active checks, passive policy.
      const flip = this.pick(3);
      const next: Record<string, unknown> = { ...old };
      if (flip === 0)
        next.tls = old.tls
          ? undefined
          : { verify: false, secret: this.any(CERTS), serverName: 'up.test', sni: false };
      if (flip === 1)
        next.health = { ...old.health, active: old.health.active ? undefined : this.any(ACTIVES) };
      if (flip === 2)
        next.health = {
          passive: this.any(PASSIVE),
          ...(old.health.active ? { active: this.any(ACTIVES) } : {}),
        };
      for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
      if (next.health && (next.health as { active?: unknown }).active === undefined) {
        next.health = { passive: (next.health as Backend['health']).passive };
      }
      this.set('backends', id, next);
    } else if (op <= 5) {
      const name = this.any(HOSTS);
      this.set('hosts', name, this.pick(4) === 0 ? undefined : this.host(name));
    } else if (op <= 7) {
      const cid = this.any(CERTS.slice(0, 3));
      // Rotated under the same id (a renewed Secret), added, or removed.
      this.set('certs', cid, this.pick(5) === 0 ? undefined : this.cert(cid));
    } else if (op === 8) this.defaultCertificate = this.pick(3) === 0 ? undefined : this.any(CERTS);
    else {
      const wild = { hostname: '*.l.test', certificate: this.any(CERTS) };
      const any = { hostname: '*', certificate: this.any(CERTS) };
      this.listeners = this.any([undefined, [wild], [any, wild]]);
    }
  }
}

const member = (b: BackendState) =>
  b.members.map((m) => [
    m.state.id,
    m.state.address,
    m.state.port,
    m.weight,
    m.ready,
    m.terminating,
    m.cookieValue,
  ]);

function describe(t: TestDataplane, b: BackendState | undefined) {
  if (b === undefined) return undefined;
  // A stale state (one the upstreams no longer hold) would route to endpoints that left.
  const current = t.dp.upstreams.backend(b.config.id) === b;
  return { id: b.config.id, current, tls: b.tls?.key, problem: b.problem, members: member(b) };
}

function facts(host: string, target: string, secure: boolean, roll: number): RequestFacts {
  return {
    method: 'GET',
    target,
    host,
    secure,
    clientAddress: '192.0.2.7',
    upgrade: 'none',
    httpsPort: 443,
    draining: false,
    roll,
  };
}

/** What clients of `t` can observe, but TLS handshakes (compared on their own). */
function observe(t: TestDataplane, s: Snapshot) {
  const decisions = [];
  for (const host of NAMES) {
    for (const target of ['/', '/api/x']) {
      for (const [secure, roll] of [
        [false, 0.1],
        [true, 0.9],
      ] as const) {
        const d = t.dp.decide(facts(host, target, secure, roll));
        decisions.push({
          host,
          target,
          kind: d.kind,
          status: 'status' in d ? d.status : undefined,
          location: d.kind === 'redirect' ? d.location : undefined,
          route: d.route?.id,
          backend: d.kind === 'proxy' ? describe(t, d.backend) : undefined,
        });
      }
    }
  }
  const up = t.dp.upstreams;
  return {
    decisions,
    backends: s.backends.map((b) => describe(t, up.backend(b.id))),
    endpoints: [...up.endpoints()]
      .map((e) => [e.id, e.address, e.port, e.weight, e.ready, e.terminating, e.healthy].join(' '))
      .sort(),
    checks: up.activeChecks,
    checkers: up
      .checkers()
      .map((c) => JSON.stringify([c.endpoint, c.check, c.reportTo]))
      .sort(),
    limits: s.hosts.flatMap((h) => h.routes.map((r) => [r.id, t.dp.routeLimits(r.id)])),
    passthrough: NAMES.map((n) => t.dp.passthroughBackend(n)?.config.id),
  };
}

// Which of the test's certificates the server presents for `name`; each dataplane's own generated fallback
// (different in every process) is `fallback`.
async function served(
  t: TestDataplane,
  name: string | undefined,
  pems: readonly TestCert[],
): Promise<string> {
  // A passthrough name is relayed, not terminated (compared in observe()); its backend listens nowhere.
  if (name !== undefined && t.dp.passthroughBackend(name) !== undefined) return 'passthrough';
  const seen = (await peerCertificate(t.dp.ports.https, name)).cert.fingerprint256;
  const at = pems.findIndex((p) => new X509Certificate(p.certPem).fingerprint256 === seen);
  return at < 0 ? 'fallback' : `pem-${at}`;
}
served.seen = new Set<string>();

/** Runs `steps` generated swaps from `seed`; every assertion names the step. */
async function run(seed: number, steps: number, pems: TestCert[]): Promise<void> {
  const world = new World(seeded(seed), pems);
  for (const name of HOSTS.slice(0, 5)) world.set('hosts', name, world.host(name));
  for (const id of BACKENDS.slice(0, 4)) world.set('backends', id, world.backend(id));
  for (const id of CERTS.slice(0, 3)) world.set('certs', id, world.cert(id));
  const inc = await startDataplane();
  const update = inc.dp.upstreams.update.bind(inc.dp.upstreams);
  let full = 0;
  inc.dp.upstreams.update = (...a: Parameters<typeof update>) => {
    full++;
    update(...a);
  };
  try {
    for (let step = 0; step < steps; step++) {
      const endpointsOnly = step > 0 && step % 5 === 0;
      const edits = endpointsOnly ? 1 + world.pick(2) : 1 + world.pick(3);
      if (step > 0) for (let k = 0; k < edits; k++) world.edit(endpointsOnly);
      const snapshot = world.snapshot();
      inc.dp.apply(snapshot);
      const fresh = await startDataplane();
      try {
        fresh.dp.apply(snapshot);
        assert.deepEqual(observe(inc, snapshot), observe(fresh, snapshot), `seed ${seed} step ${step}`);
        for (const name of [world.any(NAMES), world.any(NAMES), 'nope.test', undefined]) {
          const want = await served(fresh, name, pems);
          assert.equal(await served(inc, name, pems), want, `seed ${seed} step ${step} SNI ${name}`);
          served.seen.add(want);
        }
      } finally {
        await fresh.close();
      }
    }
  } finally {
    await inc.close();
  }
  // Only the first swap (from nothing) reconciled every backend; every later one what changed.
  assert.equal(full, 1, 'Upstreams.update (the full reconcile) ran only for the first swap');
}

test('apply of general changes, incremental on one dataplane, equals a fresh dataplane from scratch', async () => {
  const pems = await Promise.all(['pem-0', 'pem-1', 'pem-2'].map((cn) => makeCert(['*.test'], cn)));
  for (const seed of [1, 7, 2026]) await run(seed, 70, pems);
  assert.ok(served.seen.size >= 3, `handshakes saw ${[...served.seen]}`);
});
