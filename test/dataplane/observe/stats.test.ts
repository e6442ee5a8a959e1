import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closeAll, startBackends } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { startObserved } from './harness.ts';

/** A dataplane + observability with a controllable clock, and its admin listener. */
async function start() {
  const clock = { now: 1_700_000_000_000 };
  const o = await startObserved({ now: () => clock.now });
  return { ...o, clock, get: o.adminGet };
}

describe('stats', () => {
  test('stats.json numbers match the traffic', async () => {
    const backends = await startBackends(2, (req, res) => {
      if (req.url !== '/fail') return false;
      res.writeHead(500).end();
      return true;
    });
    const s = await start();
    try {
      s.dp.apply(
        buildSnapshot({
          hosts: [{ hostname: 'app.test', routes: [{ backend: 'app' }] }],
          backends: [
            {
              id: 'app',
              endpoints: [...backends.map((b) => b.port), { port: 1, ready: false }],
              affinity: {},
            },
          ],
        }),
      );
      const before = await s.stats();
      assert.equal(before.version, 1);
      assert.equal(before.totals.requests, 0);
      for (let i = 0; i < 6; i++) {
        assert.equal(
          (await request({ port: s.dp.ports.http, host: 'app.test', path: `/r${i}` })).status,
          200,
        );
      }
      assert.equal((await request({ port: s.dp.ports.http, host: 'app.test', path: '/fail' })).status, 500);
      assert.equal((await request({ port: s.dp.ports.http, host: 'other.test', path: '/' })).status, 404);
      s.clock.now += 2000;
      const r = await s.stats();
      assert.equal(r.totals.requests, 7);
      assert.equal(r.totals.errors, 1);
      assert.equal(r.totals.unrouted, 1);
      assert.equal(r.totals.rps, 3.5);
      const route = r.hosts[0]!.routes[0]!;
      assert.deepEqual(
        { requests: route.requests, errors: route.errors, lastStatus: route.lastStatus, rps: route.rps },
        { requests: 7, errors: 1, lastStatus: 500, rps: 3.5 },
      );
      const b = r.backends[0]!;
      assert.equal(b.state, 'UP');
      assert.equal(b.requests, 7);
      assert.equal(b.errors, 1);
      // No client kept the cookie, so every request was a new session.
      assert.equal(b.stickyIssued, 7);
      const live = b.endpoints.filter((e) => e.state === 'UP');
      assert.equal(live.length, 2);
      assert.equal(live[0]!.requests + live[1]!.requests, 7);
      for (const e of live) {
        assert.equal(e.total, e.requests);
        assert.equal(e.active, 0);
        assert.equal(e.check, 'none');
        assert.equal(e.weight, 1);
      }
      const down = b.endpoints.find((e) => e.port === 1)!;
      assert.equal(down.state, 'DOWN');
      assert.equal(down.requests, 0);
    } finally {
      await s.close();
      await closeAll(backends);
    }
  });

  test('/stats escapes host names and paths from users', async () => {
    const s = await start();
    try {
      const evilHost = '<script>alert(1)</script>.test';
      s.dp.apply(
        buildSnapshot({
          hosts: [
            { hostname: evilHost, routes: [{ backend: 'x"><img src=x onerror=alert(2)>', path: "/'><b>" }] },
          ],
          backends: [{ id: 'x"><img src=x onerror=alert(2)>', endpoints: [1] }],
        }),
      );
      const page = await s.get('/stats');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      assert.ok(page.body.includes('&lt;script&gt;alert(1)&lt;/script&gt;.test'));
      assert.equal(page.body.split('<script>').length, 2, 'only the page script itself');
      assert.ok(!page.body.includes('<img'));
      assert.ok(!page.body.includes('<b>'));
      assert.ok(page.body.includes('x&quot;&gt;&lt;img src=x onerror=alert(2)&gt;'));
      assert.ok(page.body.includes('/&#39;&gt;&lt;b&gt;'));
      // The JSON carries the raw names; the page script renders them with textContent only.
      assert.equal((await s.stats()).hosts[0]!.hostname, evilHost);
      assert.doesNotMatch(page.body, /innerHTML/);
    } finally {
      await s.close();
    }
  });

  test('before any snapshot: an empty report, a page that renders', async () => {
    const s = await start();
    try {
      const r = await s.stats();
      assert.equal(r.totals.requests, 0);
      const page = await s.get('/stats');
      assert.equal(page.status, 200);
      assert.match(page.body, /<h1>sticky-ingress statistics<\/h1>/);
      assert.equal((await s.get('/healthz')).status, 200);
    } finally {
      await s.close();
    }
  });
});
