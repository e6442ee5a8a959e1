import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { CertificateExpiry } from '../../../src/dataplane/observe/cert-expiry.ts';
import { DataplaneMetrics } from '../../../src/dataplane/observe/dataplane-metrics.ts';
import { RequestRecord } from '../../../src/dataplane/observe/observer.ts';
import { RouteTable } from '../../../src/dataplane/observe/route-table.ts';
import { TrafficObserver } from '../../../src/dataplane/observe/traffic-observer.ts';
import { Upstreams } from '../../../src/dataplane/upstream/upstreams.ts';
import type { Snapshot } from '../../../src/snapshot/index.ts';
import { makeCert } from '../helpers/certs.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { sample } from './harness.ts';

/** The observer over a real Upstreams and route table; `swap` plays the dataplane's apply(). */
function setup(first: Snapshot) {
  const registry = new Registry();
  const upstreams = new Upstreams({ affinityKey: Buffer.alloc(32, 1) });
  let table: RouteTable | undefined;
  const metrics = new DataplaneMetrics(registry, {
    backends: () => upstreams.backends(),
    openTunnels: (b, e) => table?.openTunnels(b, e) ?? 0,
  });
  table = new RouteTable(metrics);
  let current = first;
  upstreams.update(first.backends);
  const observer = new TrafficObserver(metrics, table, undefined, () => current);
  return {
    registry,
    observer,
    swap(s: Snapshot) {
      current = s;
      upstreams.update(s.backends);
    },
  };
}

function record(fields: Partial<RequestRecord>): RequestRecord {
  return Object.assign(new RequestRecord(), fields);
}

const SNAP = buildSnapshot({
  hosts: [{ hostname: 'chat.test', routes: [{ backend: 'chat' }] }],
  backends: [{ id: 'chat', endpoints: [3001, 3002] }],
});
const ROUTE = SNAP.hosts[0]!.routes[0]!.id;
const LABELS = 'namespace="default",ingress="ing-chat.test",service="chat"';

describe('TrafficObserver', () => {
  test('open tunnels per endpoint rise on onTunnelOpen and fall on close', async () => {
    const { registry, observer } = setup(SNAP);
    const r = record({
      routeId: ROUTE,
      backendId: 'chat',
      endpointId: '127.0.0.1:3001',
      status: 101,
      tunnel: true,
      sourceNamespace: 'default',
      sourceName: 'ing-chat.test',
    });
    observer.onTunnelOpen(r);
    observer.onTunnelOpen(r);
    const gauge = 'sticky_ingress_upstream_open_tunnels{backend="chat",endpoint="127.0.0.1:3001"}';
    assert.equal(sample(await registry.metrics(), gauge), 2);
    observer.onTunnelClose(r);
    const text = await registry.metrics();
    assert.equal(sample(text, gauge), 1);
    assert.equal(sample(text, `sticky_ingress_tunnels_total{${LABELS}}`), 1);
    assert.equal(
      sample(text, 'sticky_ingress_upstream_open_tunnels{backend="chat",endpoint="127.0.0.1:3002"}'),
      0,
    );
  });

  test('a failed upgrade (502) is a request, not a closed tunnel', async () => {
    const { registry, observer } = setup(SNAP);
    observer.onTunnelClose(
      record({
        routeId: ROUTE,
        backendId: 'chat',
        endpointId: '127.0.0.1:3001',
        status: 502,
        tunnel: true,
        sourceNamespace: 'default',
        sourceName: 'ing-chat.test',
        totalMs: 3,
      }),
    );
    const text = await registry.metrics();
    assert.equal(sample(text, `sticky_ingress_tunnels_total{${LABELS}}`), 0);
    assert.equal(sample(text, `sticky_ingress_requests_total{${LABELS},status_class="5xx"}`), 1);
    assert.equal(
      sample(text, `sticky_ingress_request_duration_seconds_count{${LABELS},status_class="5xx"}`),
      1,
    );
  });

  test('a request finishing after a swap is counted under its own labels, dropped at the next swap', async () => {
    const { registry, observer, swap } = setup(SNAP);
    const renamed = buildSnapshot(
      {
        hosts: [{ hostname: 'new.test', routes: [{ backend: 'chat' }] }],
        backends: [{ id: 'chat', endpoints: [3002] }],
      },
      2,
    );
    swap(renamed);
    observer.onRequest(
      record({
        routeId: ROUTE,
        backendId: 'chat',
        endpointId: '127.0.0.1:3001',
        status: 200,
        sourceNamespace: 'default',
        sourceName: 'ing-chat.test',
        totalMs: 1,
      }),
    );
    let text = await registry.metrics();
    assert.equal(sample(text, `sticky_ingress_requests_total{${LABELS},status_class="2xx"}`), 1);
    swap(
      buildSnapshot(
        {
          hosts: [{ hostname: 'new.test', routes: [{ backend: 'chat' }] }],
          backends: [{ id: 'chat', endpoints: [3003] }],
        },
        3,
      ),
    );
    observer.sync();
    text = await registry.metrics();
    assert.doesNotMatch(text, /ing-chat\.test/);
    assert.doesNotMatch(text, /127\.0\.0\.1:300[12]/);
    assert.match(text, /endpoint="127\.0\.0\.1:3003"/);
  });

  test('unknown status (client gone before a response) goes to the "other" class', async () => {
    const { registry, observer } = setup(SNAP);
    observer.onRequest(record({ status: 0, totalMs: 1 }));
    assert.equal(
      sample(
        await registry.metrics(),
        'sticky_ingress_requests_total{namespace="",ingress="",service="",status_class="other"}',
      ),
      1,
    );
  });
});

describe('CertificateExpiry', () => {
  test('notAfter per TLS host; unparsable PEMs and hosts without a certificate are left out', async () => {
    const cert = await makeCert(['a.test']);
    const snapshot = buildSnapshot({
      hosts: [
        { hostname: 'a.test', tls: 'ns/a', routes: [] },
        { hostname: 'b.test', tls: 'ns/broken', routes: [] },
        { hostname: 'c.test', tls: true, routes: [] },
        { hostname: 'd.test', routes: [] },
      ],
      backends: [],
      certificates: [
        { id: 'ns/a', ...cert },
        {
          id: 'ns/broken',
          certPem: '-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n',
          keyPem: '',
        },
      ],
    });
    const registry = new Registry();
    const expiry = new CertificateExpiry(registry, () => expiry.update(snapshot));
    const text = await registry.metrics();
    const want = Date.parse(new X509Certificate(cert.certPem).validTo) / 1000;
    assert.equal(
      sample(text, 'sticky_ingress_certificate_expiry_timestamp_seconds{host="a.test",certificate="ns/a"}'),
      want,
    );
    assert.doesNotMatch(text, /b\.test|c\.test|d\.test/);
    assert.deepEqual(
      expiry.hosts.map((h) => [h.host, h.certificate, h.notAfter === undefined]),
      [
        ['a.test', 'ns/a', false],
        ['b.test', 'ns/broken', true],
      ],
    );
  });
});
