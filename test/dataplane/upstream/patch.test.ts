import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BackendState, Upstreams } from '../../../src/dataplane/upstream/upstreams.ts';
import type { Backend, Endpoint } from '../../../src/snapshot/index.ts';
import { affinity, backend, endpoint, KEY, seeded } from './fixtures.ts';

const byId = (list: Endpoint[]) => list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

// What a request can observe of a backend: its members (endpoint, weight, flags, cookie) and where picks go.
function observe(state: BackendState | undefined) {
  if (state === undefined) return undefined;
  const members = state.members.map((m) => [m.state.id, m.state.address, m.weight, m.ready, m.cookieValue]);
  const picks = Array.from({ length: 12 }, (_, i) =>
    state.pick(undefined, false, undefined, undefined, `k${i}`),
  );
  return { members, picks: picks.map((p) => [p?.endpoint.id, p?.setCookie]) };
}

test('Upstreams.patch gives what update gives, over random endpoint changes', () => {
  const random = seeded(13);
  const pick = (n: number) => Math.floor(random() * n);
  const pool = (n: number, over: Partial<Endpoint> = {}) => endpoint(n, over);
  let current: Backend[] = [
    backend(byId([1, 2, 3, 4, 5].map((n) => pool(n))), { affinity: affinity() }),
    backend(byId([40, 41, 42].map((n) => pool(n))), { id: 'default/hash:http', balance: 'hash' }),
  ];
  const full = new Upstreams({ affinityKey: KEY, random: seeded(1) });
  const patched = new Upstreams({ affinityKey: KEY, random: seeded(1) });
  full.update(current);
  patched.update(current);
  let patches = 0;
  for (let step = 0; step < 300; step++) {
    const i = pick(current.length);
    const b = current[i] as Backend;
    const list = [...b.endpoints];
    const op = pick(4);
    if (op === 0 && list.length > 0) list.splice(pick(list.length), 1);
    else if (op === 1) {
      // Mostly fresh ids; now and then one the other backend lists (shared: update() handles those).
      const n = pick(10) === 0 ? (i === 0 ? 40 : 1) : 100 * (i + 1) + pick(60);
      if (!list.some((e) => e.id === endpoint(n).id)) list.push(pool(n));
    } else if (list.length > 0) {
      const k = pick(list.length);
      const e = list[k] as Endpoint;
      list[k] = { ...e, ready: pick(2) === 0, terminating: pick(3) === 0, address: `127.0.1.${pick(200)}` };
    }
    const next = current.slice();
    next[i] = { ...b, endpoints: byId(list) };
    full.update(next);
    if (patched.patch([next[i] as Backend]) === undefined) patched.update(next);
    else patches++;
    for (const x of next) {
      assert.deepEqual(observe(patched.backend(x.id)), observe(full.backend(x.id)), `step ${step} ${x.id}`);
    }
    const ids = (u: Upstreams) => [...u.endpoints()].map((e) => `${e.id} ${e.address} ${e.ready}`).sort();
    assert.deepEqual(ids(patched), ids(full), `step ${step}`);
    current = next;
  }
  assert.ok(patches > 150, `patched ${patches} of 300`);
});

/** One backend of 2,000 endpoints with cookie affinity, applied: its endpoints, config, Upstreams and state. */
function bigAffinityBackend() {
  const endpoints = byId(Array.from({ length: 2000 }, (_, n) => endpoint(n)));
  const first = backend(endpoints, { affinity: affinity() });
  const up = new Upstreams({ affinityKey: KEY });
  up.update([first]);
  return { endpoints, first, up, before: up.backend(first.id) as BackendState };
}

test('a patch of one endpoint among 2,000 keeps every other member, its counts and its cookie', () => {
  const { endpoints, first, up, before } = bigAffinityBackend();
  const pinned = before.members[7]!;
  pinned.state.acquire();
  const gone = endpoints[3] as Endpoint;
  const second = { ...first, endpoints: endpoints.filter((e) => e !== gone) };
  assert.deepEqual(up.patch([second]), [gone.id]);
  const after = up.backend(first.id) as BackendState;
  assert.notEqual(after, before);
  const kept = after.members.filter((m) => before.members.includes(m)).length;
  assert.equal(kept, 1999, 'every member but the removed one is the very same object');
  // The client pinned to endpoint 7 stays there; its connection count carried over.
  const cookie = `route=${pinned.cookieValue}`;
  assert.equal(after.pick(cookie, false)?.endpoint, pinned.state);
  assert.equal(pinned.state.active, 1);
  assert.ok(![...up.endpoints()].some((e) => e.id === gone.id));
});

test('two backends of one Service gaining the same pod in one change share its state, and keep it', () => {
  const a = backend([endpoint(1)]);
  const b = backend([endpoint(3)], { id: 'default/chat:http-2', affinity: affinity() });
  const up = new Upstreams({ affinityKey: KEY });
  up.update([a, b]);
  // One EndpointSlice event: both backends of the Service get pod 2.
  const a2 = { ...a, endpoints: byId([endpoint(1), endpoint(2)]) };
  const b2 = { ...b, endpoints: byId([endpoint(2), endpoint(3)]) };
  if (up.patch([a2, b2]) === undefined) up.update([a2, b2]);
  // Then only backend a loses it (its next build): b still lists pod 2, which must keep its state and pool.
  const a3 = { ...a2, endpoints: [endpoint(1)] };
  let gone = up.patch([a3]);
  if (gone === undefined) {
    up.update([a3, b2]);
    gone = [];
  }
  assert.deepEqual(gone, [], 'b still lists pod 2: its pools stay');
  assert.deepEqual(
    [...up.endpoints()].map((e) => e.id).sort(),
    [endpoint(1).id, endpoint(2).id, endpoint(3).id].sort(),
  );
  const members = up.backend(b.id)!.members;
  const live = [...up.endpoints()].find((e) => e.id === endpoint(2).id);
  assert.equal(members.find((m) => m.state.id === endpoint(2).id)?.state, live);
});

test('a renamed affinity cookie on a Service of 2,000 keeps every member; clients stay pinned under the new name', () => {
  const { first, up, before } = bigAffinityBackend();
  const pinned = before.members[11]!;
  const renamed: Backend = { ...first, affinity: affinity({ name: 'sticky' }) };
  assert.ok(up.reconcile({ removed: [first], added: [renamed] }, { removed: [], added: [] }));
  const after = up.backend(first.id) as BackendState;
  assert.equal(after.config, renamed);
  assert.equal(
    after.members.filter((m, i) => m === before.members[i]).length,
    2000,
    'the very same member objects (no 2,000 rebuilt)',
  );
  // The value in the cookie does not depend on its name: a client re-sent under the new name stays.
  assert.equal(after.pick(`sticky=${pinned.cookieValue}`, false)?.endpoint, pinned.state);
  assert.equal(after.pick(`route=${pinned.cookieValue}`, false)?.setCookie?.startsWith('sticky='), true);
  // Affinity turned off: no cookie map is wanted, so the members are rebuilt without one.
  const off: Backend = { ...renamed, affinity: undefined };
  assert.ok(up.reconcile({ removed: [renamed], added: [off] }, { removed: [], added: [] }));
  const plain = up.backend(first.id) as BackendState;
  assert.equal(plain.members[11]?.cookieValue, '');
  assert.equal(plain.pick(`sticky=${pinned.cookieValue}`, false)?.setCookie, undefined);
});
