import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBackends, type TestBackend } from './helpers/backends.ts';
import { request } from './helpers/client.ts';
import { dataplaneHooks, type TestDataplane } from './helpers/dataplane.ts';
import { buildSnapshot } from './helpers/snapshot.ts';

// An incremental apply (src/dataplane/swap.ts) that throws part-way must not leave the dataplane between two
// configurations, nor reject the new one: the full reconcile takes over from wherever the parts stand, and
// the failure is logged. The fault is injected into the real Upstreams after it has reconciled (so the
// backends have moved and the routing has not), the state a bug in a later step would leave.

let backends: TestBackend[];
let t: TestDataplane;

/** app.test on the first backend, and `<other>.test` on the backend at `port`. */
const withHost = (ports: number[], other: string, port: number) =>
  buildSnapshot({
    hosts: [
      { hostname: 'app.test', routes: [{ backend: 'app' }] },
      { hostname: `${other}.test`, routes: [{ backend: other }] },
    ],
    backends: [
      { id: 'app', endpoints: [ports[0] as number] },
      { id: other, endpoints: [port] },
    ],
  });
const before1 = (ports: number[]) => withHost(ports, 'old', ports[0] as number);
const after1 = (ports: number[]) => withHost(ports, 'new', ports[1] as number);

dataplaneHooks(
  () => startBackends(2),
  (b, dp) => {
    backends = b;
    t = dp;
  },
);

test('a patch that throws after the backends moved: the full reconcile serves the new configuration', async () => {
  const ports = backends.map((b) => b.port);
  t.dp.apply(before1(ports));
  const get = async (host: string) => {
    const r = await request({ port: t.dp.ports.http, host });
    return r.status === 200 ? `200 ${(JSON.parse(r.body) as { id: string }).id}` : String(r.status);
  };
  assert.equal(await get('old.test'), '200 b0');

  const upstreams = t.dp.upstreams;
  const reconcile = upstreams.reconcile.bind(upstreams);
  let injected = 0;
  upstreams.reconcile = (...args: Parameters<typeof reconcile>) => {
    const done = reconcile(...args);
    injected++;
    throw new Error('injected: a step after the upstreams failed');
    // biome-ignore lint/correctness/noUnreachable: the shape the caller expects, never returned.
    return done;
  };
  try {
    assert.equal(t.dp.apply(after1(ports)), true, 'the new configuration is taken');
  } finally {
    upstreams.reconcile = reconcile;
  }
  assert.equal(injected, 1, 'the incremental path ran and failed');
  assert.equal(await get('new.test'), '200 b1');
  assert.equal(await get('app.test'), '200 b0');
  assert.equal(await get('old.test'), '404');
  const line = t.logs.find(
    (l) => l.msg === 'incremental configuration apply failed part-way; applied in full instead',
  );
  assert.ok(line, 'logged');
  assert.match(JSON.stringify(line.err), /injected/);

  // The next change applies as usual.
  t.dp.apply(before1(ports));
  assert.equal(await get('old.test'), '200 b0');
  assert.equal(await get('new.test'), '404');
});
