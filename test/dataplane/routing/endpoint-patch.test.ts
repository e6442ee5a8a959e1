import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { finalizeSnapshot, type Snapshot } from '../../../src/snapshot/index.ts';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

// An EndpointSlice change as the controller's fast path publishes it: the very same (frozen) host and
// certificate lists, only the changed Backend objects new (src/controller/build/endpoint-patch.ts).
function endpointsChanged(base: Snapshot, id: string, ports: number[], version: number): Snapshot {
  const backends = base.backends.map((b) =>
    b.id !== id
      ? b
      : {
          ...b,
          endpoints: ports.map((port) => ({
            id: `127.0.0.1:${port}`,
            address: '127.0.0.1',
            port,
            weight: 1,
            ready: true,
            serving: true,
            terminating: false,
          })),
        },
  );
  const { version: _v, hash: _h, ...body } = base;
  return finalizeSnapshot({ ...body, backends }, version);
}

describe('an endpoint-only snapshot (the swap fast path)', () => {
  let servers: TestBackend[];
  let t: TestDataplane;
  let first: Snapshot;
  let live: Snapshot;
  const apply = (s: Snapshot) => {
    live = s;
    return t.dp.apply(s);
  };

  before(async () => {
    servers = await startBackends(4);
    t = await startDataplane();
    first = buildSnapshot({
      hosts: [
        { hostname: 'a.test', routes: [{ backend: 'a' }] },
        { hostname: 'b.test', routes: [{ backend: 'b' }] },
      ],
      backends: [
        { id: 'a', endpoints: [servers[0]!.port] },
        { id: 'b', endpoints: [servers[1]!.port] },
      ],
    });
    apply(first);
  });
  after(async () => {
    await t.close();
    await closeAll(servers);
  });

  const who = async (host: string) =>
    json(await request({ port: t.dp.ports.http, host, headers: { connection: 'close' } })).id;

  test('moves traffic to the new endpoints, keeps the other host, and drops the old endpoint', async () => {
    assert.equal(await who('a.test'), servers[0]!.id);
    assert.equal(await who('b.test'), servers[1]!.id);
    const second = endpointsChanged(first, 'a', [servers[2]!.port, servers[3]!.port], 2);
    assert.equal(apply(second), true);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await who('a.test'));
    assert.deepEqual([...seen].sort(), [servers[2]!.id, servers[3]!.id].sort());
    assert.equal(await who('b.test'), servers[1]!.id);
    // The dataplane's endpoint states are exactly the snapshot's: the removed one is gone, none is missing.
    const ids = [...t.dp.upstreams.endpoints()].map((e) => e.id).sort();
    const want = second.backends.flatMap((b) => b.endpoints.map((e) => e.id)).sort();
    assert.deepEqual(ids, want);
  });

  test('an emptied backend answers 503 and a refilled one serves again', async () => {
    const third = endpointsChanged(live, 'b', [], 3);
    apply(third);
    const res = await request({ port: t.dp.ports.http, host: 'b.test', headers: { connection: 'close' } });
    assert.equal(res.status, 503);
    apply(endpointsChanged(third, 'b', [servers[0]!.port], 4));
    assert.equal(await who('b.test'), servers[0]!.id);
  });

  test('endpoints shared by two backends fall back to the full update and stay correct', async () => {
    const shared = endpointsChanged(live, 'a', [servers[0]!.port], 5);
    apply(shared);
    assert.equal(await who('a.test'), servers[0]!.id);
    assert.equal(await who('b.test'), servers[0]!.id);
    const moved = endpointsChanged(shared, 'b', [servers[1]!.port], 6);
    apply(moved);
    assert.equal(await who('a.test'), servers[0]!.id);
    assert.equal(await who('b.test'), servers[1]!.id);
    const ids = [...t.dp.upstreams.endpoints()].map((e) => e.id).sort();
    assert.deepEqual(ids, [`127.0.0.1:${servers[0]!.port}`, `127.0.0.1:${servers[1]!.port}`].sort());
  });
});

describe('an endpoint-only change of a weighted split’s second backend', () => {
  let servers: TestBackend[];
  let t: TestDataplane;
  before(async () => {
    servers = await startBackends(3);
    t = await startDataplane();
  });
  after(async () => {
    await t.close();
    await closeAll(servers);
  });

  test('moves the split’s traffic to the new endpoints (the split entry is compiled again)', async () => {
    const base = buildSnapshot({
      hosts: [{ hostname: 's.test', routes: [{ backend: 'a' }] }],
      backends: [
        { id: 'a', endpoints: [servers[0]!.port] },
        { id: 'b', endpoints: [servers[1]!.port] },
      ],
    });
    // A Gateway API split: `backend` is the first entry's, so only the split names `b`.
    const { version: _v, hash: _h, ...body } = base;
    const host = base.hosts[0]!;
    const route = {
      ...host.routes[0]!,
      split: [
        { backend: 'a', weight: 1 },
        { backend: 'b', weight: 1 },
      ],
    };
    const first = finalizeSnapshot({ ...body, hosts: [{ ...host, routes: [route] }] }, 2);
    t.dp.apply(first);
    const second = endpointsChanged(first, 'b', [servers[2]!.port], 3);
    assert.equal(second.hosts, first.hosts, 'the very same host list: the endpoint-only path');
    t.dp.apply(second);
    // Each request draws its split entry: 24 draws miss `b` with odds 2^-24.
    const seen = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const res = await request({ port: t.dp.ports.http, host: 's.test', headers: { connection: 'close' } });
      seen.add(json(res).id);
    }
    assert.ok(!seen.has(servers[1]!.id), 'no request reaches the endpoint that left `b`');
    assert.deepEqual([...seen].sort(), [servers[0]!.id, servers[2]!.id].sort());
  });
});
