import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { makeCert } from '../helpers/certs.ts';
import { request } from '../helpers/client.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { type ObservedDataplane, sample, seriesOf, startObserved } from './harness.ts';

const REQ = 'sticky_ingress_requests_total';
const DUR = 'sticky_ingress_request_duration_seconds';
const APP = 'namespace="default",ingress="ing-app.test",service="app"';

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('dataplane metrics after real traffic', () => {
  let o: ObservedDataplane;
  let backends: TestBackend[];
  let dead: number;

  before(async () => {
    backends = await startBackends(2);
    dead = await deadPort();
    const cert = await makeCert(['app.test']);
    o = await startObserved();
    o.dp.apply(
      buildSnapshot({
        hosts: [
          { hostname: 'app.test', tls: 'default/app-tls', routes: [{ backend: 'app' }] },
          { hostname: 'flaky.test', routes: [{ backend: 'flaky' }] },
          { hostname: 'ws.test', routes: [{ backend: 'live' }] },
        ],
        backends: [
          {
            id: 'app',
            endpoints: backends.map((b) => b.port),
            affinity: {},
            service: { namespace: 'default', name: 'app', port: 'http' },
          },
          { id: 'flaky', endpoints: [dead, backends[0]!.port], balance: 'round-robin', retries: 1 },
          { id: 'live', endpoints: [backends[1]!.port] },
        ],
        certificates: [{ id: 'default/app-tls', ...cert }],
      }),
    );
  });

  after(async () => {
    await o.close();
    await closeAll(backends);
  });

  test('requests, durations and affinity decisions move with traffic', async () => {
    const first = await request({
      port: o.dp.ports.http,
      host: 'app.test',
      path: '/a?x=1',
      headers: { 'x-forwarded-proto': 'https' },
    });
    // sslRedirect: plain HTTP to a TLS host is redirected (3xx) without reaching a backend.
    assert.equal(first.status, 308);
    const res = await request({ port: o.dp.ports.https, secure: true, host: 'app.test', path: '/a' });
    assert.equal(res.status, 200);
    const cookie = String(res.headers['set-cookie']).split(';')[0]!;
    for (let i = 0; i < 3; i++) {
      const again = await request({
        port: o.dp.ports.https,
        secure: true,
        host: 'app.test',
        path: '/b',
        headers: { cookie },
      });
      assert.equal(again.status, 200);
    }
    const text = await o.metrics();
    assert.equal(sample(text, `${REQ}{${APP},status_class="2xx"}`), 4);
    assert.equal(sample(text, `${REQ}{${APP},status_class="3xx"}`), 1);
    assert.equal(sample(text, `${DUR}_count{${APP},status_class="2xx"}`), 4);
    assert.equal(sample(text, `${DUR}_bucket{le="+Inf",${APP},status_class="2xx"}`), 4);
    assert.ok(sample(text, `${DUR}_sum{${APP},status_class="2xx"}`)! > 0);
    assert.equal(
      sample(
        text,
        'sticky_ingress_affinity_decisions_total{namespace="default",service="app",decision="new"}',
      ),
      1,
    );
    assert.equal(
      sample(
        text,
        'sticky_ingress_affinity_decisions_total{namespace="default",service="app",decision="hit"}',
      ),
      3,
    );
    assert.ok(sample(text, 'sticky_ingress_tls_handshakes_total{result="ok"}')! >= 4);
  });

  test('unrouted requests are counted under empty labels', async () => {
    const res = await request({ port: o.dp.ports.http, host: 'nobody.test', path: '/' });
    assert.equal(res.status, 404);
    const text = await o.metrics();
    assert.equal(sample(text, `${REQ}{namespace="",ingress="",service="",status_class="4xx"}`), 1);
  });

  test('a failed TLS handshake is counted', async () => {
    const before = sample(await o.metrics(), 'sticky_ingress_tls_handshakes_total{result="error"}') ?? 0;
    const { connect } = await import('node:net');
    await new Promise<void>((resolve) => {
      const s = connect(o.dp.ports.https, '127.0.0.1', () => s.end('GET / HTTP/1.1\r\n\r\n'));
      s.on('close', () => resolve());
      s.on('error', () => {});
    });
    const text = await o.metrics();
    assert.equal(sample(text, 'sticky_ingress_tls_handshakes_total{result="error"}'), before + 1);
  });

  test('connect failures and retries by endpoint, pool gauges per endpoint', async () => {
    let ok = 0;
    for (let i = 0; i < 4; i++) {
      const res = await request({ port: o.dp.ports.http, host: 'flaky.test', path: '/' });
      if (res.status === 200) ok++;
    }
    assert.equal(ok, 4);
    const text = await o.metrics();
    const deadId = `127.0.0.1:${dead}`;
    const failures = sample(
      text,
      `sticky_ingress_upstream_connect_failures_total{backend="flaky",endpoint="${deadId}"}`,
    );
    assert.ok(failures !== undefined && failures >= 1, `failures ${failures}`);
    const liveId = `127.0.0.1:${backends[0]!.port}`;
    // A retry is counted on the endpoint the request was redispatched to.
    assert.equal(
      sample(text, `sticky_ingress_upstream_retries_total{backend="flaky",endpoint="${liveId}"}`),
      failures,
    );
    assert.equal(
      sample(text, `sticky_ingress_upstream_active_connections{backend="flaky",endpoint="${liveId}"}`),
      0,
    );
    assert.equal(sample(text, `sticky_ingress_endpoint_healthy{backend="app",endpoint="${liveId}"}`), 1);
    assert.equal(sample(text, `sticky_ingress_endpoint_ready{backend="app",endpoint="${liveId}"}`), 1);
  });

  test('certificate expiry per TLS host', async () => {
    const text = await o.metrics();
    const v = sample(
      text,
      'sticky_ingress_certificate_expiry_timestamp_seconds{host="app.test",certificate="default/app-tls"}',
    );
    assert.ok(v !== undefined && v * 1000 > Date.now(), `expiry ${v}`);
  });

  test('a WebSocket tunnel is an open tunnel while it lives and is counted when it closes', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${o.dp.ports.http}/ws`, { headers: { host: 'ws.test' } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    ws.send('hi');
    assert.match(await echoed, /:hi$/);
    const open = `sticky_ingress_upstream_open_tunnels{backend="live",endpoint="127.0.0.1:${backends[1]!.port}"}`;
    assert.equal(sample(await o.metrics(), open), 1);
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.close();
    await closed;
    const ws1 = 'namespace="default",ingress="ing-ws.test",service="live"';
    let text = '';
    // The dataplane reports the tunnel when its client socket closes, just after the WebSocket close frame.
    for (let i = 0; i < 50 && sample(text, `sticky_ingress_tunnels_total{${ws1}}`) !== 1; i++) {
      await new Promise((r) => setImmediate(r));
      text = await o.metrics();
    }
    assert.equal(sample(text, `sticky_ingress_tunnels_total{${ws1}}`), 1);
    assert.equal(sample(text, `${REQ}{${ws1},status_class="1xx"}`), 1);
    assert.equal(sample(text, `${DUR}_count{${ws1},status_class="1xx"}`), 0);
    assert.equal(sample(text, open), 0);
  });

  test('1,000 distinct paths add no series and no path label', async () => {
    const before = await o.metrics();
    const names = [REQ, DUR, 'sticky_ingress_affinity_decisions_total'];
    const counts = names.map((n) => seriesOf(before, n).length);
    const r0 = sample(before, `${REQ}{${APP},status_class="2xx"}`)!;
    const jar = (await request({ port: o.dp.ports.https, secure: true, host: 'app.test', path: '/' }))
      .headers['set-cookie'];
    const cookie = String(jar).split(';')[0]!;
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          request({
            port: o.dp.ports.https,
            secure: true,
            host: 'app.test',
            path: `/p/${i + j}?q=${i + j}`,
            headers: { cookie },
          }),
        ),
      );
    }
    const after = await o.metrics();
    assert.equal(sample(after, `${REQ}{${APP},status_class="2xx"}`), r0 + 1001);
    assert.deepEqual(
      names.map((n) => seriesOf(after, n).length),
      counts,
    );
    assert.doesNotMatch(after, /\/p\/\d+/);
    assert.doesNotMatch(after, /path="/);
  });

  test('endpoint series go when the endpoint leaves the snapshot', async () => {
    const deadId = `127.0.0.1:${dead}`;
    assert.ok(
      sample(
        await o.metrics(),
        `sticky_ingress_upstream_connect_failures_total{backend="flaky",endpoint="${deadId}"}`,
      ),
    );
    o.dp.apply(
      buildSnapshot(
        {
          hosts: [
            { hostname: 'app.test', routes: [{ backend: 'app' }] },
            { hostname: 'flaky.test', routes: [{ backend: 'flaky' }] },
          ],
          backends: [
            {
              id: 'app',
              endpoints: backends.map((b) => b.port),
              affinity: {},
              service: { namespace: 'default', name: 'app', port: 'http' },
            },
            { id: 'flaky', endpoints: [backends[0]!.port] },
          ],
        },
        2,
      ),
    );
    const text = await o.metrics();
    assert.doesNotMatch(text, new RegExp(`endpoint="${deadId.replace(/\./g, '\\.')}"`));
    assert.match(text, /sticky_ingress_upstream_active_connections\{backend="flaky"/);
    // The host lost TLS: its certificate gauge goes with it.
    assert.doesNotMatch(text, /certificate_expiry_timestamp_seconds\{/);
    // Counters of routes that survived carry over.
    assert.ok(sample(text, `${REQ}{${APP},status_class="2xx"}`)! >= 1005);
  });

  test('/healthz and /readyz are untouched; /metrics has the Prometheus content type', async () => {
    assert.equal((await o.adminGet('/healthz')).status, 200);
    assert.equal((await o.adminGet('/readyz')).status, 200);
    const m = await o.adminGet('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.type, /^text\/plain; version=0\.0\.4/);
  });
});
