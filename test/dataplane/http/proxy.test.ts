import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closeAll, startBackend, startBackends, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { dataplaneHooks, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

describe('HTTP proxying', () => {
  let backends: TestBackend[];
  let t: TestDataplane;

  dataplaneHooks(
    () => startBackends(3),
    (b, d) => ([backends, t] = [b, d]),
  );

  test('routes by host and path, 404 with a short body for unknown hosts and paths', async () => {
    const [b0, b1, b2] = backends as [TestBackend, TestBackend, TestBackend];
    assert.equal(
      t.dp.apply(
        buildSnapshot({
          hosts: [
            {
              hostname: 'app.test',
              routes: [
                { path: '/api', backend: 'api' },
                { path: '/exact', pathType: 'Exact', backend: 'web' },
              ],
            },
            { hostname: '*.wild.test', routes: [{ path: '/', backend: 'wild' }] },
          ],
          backends: [
            { id: 'api', endpoints: [b0.port] },
            { id: 'web', endpoints: [b1.port] },
            { id: 'wild', endpoints: [b2.port] },
          ],
        }),
      ),
      true,
    );
    const port = t.dp.ports.http;
    assert.equal(json(await request({ port, host: 'APP.test:80', path: '/api/v1?x=1' })).id, 'b0');
    assert.equal(json(await request({ port, host: 'app.test', path: '/api' })).url, '/api');
    assert.equal((await request({ port, host: 'app.test', path: '/apis' })).status, 404);
    assert.equal(json(await request({ port, host: 'app.test', path: '/exact' })).id, 'b1');
    assert.equal((await request({ port, host: 'app.test', path: '/exact/' })).status, 404);
    assert.equal(json(await request({ port, host: 'a.wild.test' })).id, 'b2');
    const deep = await request({ port, host: 'a.b.wild.test' });
    assert.equal(deep.status, 404);
    assert.match(deep.body, /Not Found/);
    assert.equal((await request({ port, host: 'wild.test' })).status, 404);
    assert.equal((await request({ port, host: 'unknown.test' })).status, 404);
  });

  test('apply with an unchanged hash is a no-op', () => {
    const again = buildSnapshot({ hosts: [], backends: [] }, 7);
    assert.equal(t.dp.apply(again), true);
    assert.equal(t.dp.apply(buildSnapshot({ hosts: [], backends: [] }, 8)), false);
    assert.equal(t.dp.current.version, 7);
  });

  test('streams request bodies and strips hop-by-hop headers both ways', async () => {
    const [b0] = backends as [TestBackend];
    t.dp.apply(
      buildSnapshot(
        {
          hosts: [{ hostname: 'app.test', routes: [{ backend: 'api' }] }],
          backends: [{ id: 'api', endpoints: [b0.port] }],
        },
        20,
      ),
    );
    const body = 'x'.repeat(100_000);
    const res = await request({
      port: t.dp.ports.http,
      host: 'app.test',
      method: 'POST',
      path: '/upload',
      headers: {
        connection: 'keep-alive, x-secret',
        'x-secret': 'hop',
        'keep-alive': 'timeout=5',
        te: 'trailers',
      },
      body,
    });
    const seen = json(res);
    assert.equal(seen.body.length, body.length);
    assert.equal(seen.headers['x-secret'], undefined);
    assert.equal(seen.headers['keep-alive'], undefined);
    assert.equal(seen.headers.te, undefined);
    assert.equal(seen.headers.host, 'app.test');
  });

  test('round-robin spreads requests evenly across endpoints', async () => {
    const ports = backends.map((b) => b.port);
    t.dp.apply(
      buildSnapshot(
        {
          hosts: [{ hostname: 'rr.test', routes: [{ backend: 'rr' }] }],
          backends: [{ id: 'rr', endpoints: ports }],
        },
        30,
      ),
    );
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const id = json(await request({ port: t.dp.ports.http, host: 'rr.test' })).id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    assert.deepEqual([...counts.values()], [10, 10, 10]);
  });

  test('least-conn sends new requests away from an endpoint holding a slow request', async () => {
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived: (() => void) | undefined;
    const slowArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const slow = await startBackend('slow', (req, res) => {
      if (req.url !== '/slow') return false;
      arrived?.();
      void held.then(() => res.end('done'));
      return true;
    });
    const fast = await startBackend('fast');
    try {
      t.dp.apply(
        buildSnapshot(
          {
            hosts: [{ hostname: 'lc.test', routes: [{ backend: 'lc' }] }],
            backends: [{ id: 'lc', balance: 'least-conn', endpoints: [slow.port, fast.port] }],
          },
          40,
        ),
      );
      // Whichever endpoint gets /slow first, keep asking until the slow one holds it.
      const pending: Promise<unknown>[] = [];
      pending.push(request({ port: t.dp.ports.http, host: 'lc.test', path: '/slow' }));
      pending.push(request({ port: t.dp.ports.http, host: 'lc.test', path: '/slow' }));
      await slowArrived;
      const ids: string[] = [];
      for (let i = 0; i < 6; i++)
        ids.push(json(await request({ port: t.dp.ports.http, host: 'lc.test' })).id);
      assert.deepEqual(ids, Array(6).fill('fast'));
      release?.();
      await Promise.all(pending);
    } finally {
      release?.();
      await closeAll([slow, fast]);
    }
  });
});
