/**
 * Tenant isolation of endpoints, as an attacker in a shared cluster would try it (issue 10 item 1): a tenant who
 * can write an EndpointSlice in its own namespace points it at another namespace's Pod, or at an address no Pod
 * can have. The builder's output goes through a real Dataplane and real sockets: what the victim's clients reach
 * is what is asserted.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { build } from '../../src/controller/build/index.ts';
import type { BuildOptions } from '../../src/controller/view.ts';
import { finalizeSnapshot } from '../../src/snapshot/index.ts';
import { json, request } from '../dataplane/helpers/client.ts';
import { startDataplane, type TestDataplane } from '../dataplane/helpers/dataplane.ts';
import { viewFromYaml } from './golden-support.ts';

function app(ns: string, host: string, address: string, port: number, targetRef: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: ${ns}, creationTimestamp: "2025-01-01T00:00:00Z"}
spec:
  ingressClassName: sticky
  rules:
    - host: ${host}
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  ports: [{name: http, port: 80, targetPort: ${port}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: ${ns}, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: ${port}, protocol: TCP}]
endpoints:
  - addresses: ["${address}"]
    conditions: {ready: true}
    targetRef: ${targetRef}
`;
}

/** An HTTP server answering `{id}` on `address:port` (port 0: any). */
async function listen(id: string, address: string, port: number): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  return server;
}

const close = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));

describe('EndpointSlice tenant isolation', () => {
  let victim: Server;
  let attacker: Server;
  let port: number;
  let t: TestDataplane;

  // The attack needs the attacker's endpoint on the victim's port (the id carries the port), on another address.
  before(async () => {
    victim = await listen('victim', '127.0.0.1', 0);
    port = (victim.address() as AddressInfo).port;
    attacker = await listen('attacker', '127.0.0.2', port);
    t = await startDataplane();
  });
  after(async () => {
    await t.close();
    await close(victim);
    await close(attacker);
  });

  function serve(options: BuildOptions, yaml: string) {
    const result = build(viewFromYaml(yaml), options);
    t.dp.apply(finalizeSnapshot(result.body, t.dp.current.version + 1));
    return result;
  }

  test("a targetRef to another namespace's Pod does not take over that Pod's traffic", async () => {
    // aa-attacker sorts first, so before the fix its endpoint state (address 127.0.0.2) was the one both used.
    const yaml = [
      app(
        'aa-attacker',
        'attacker.test',
        '127.0.0.2',
        port,
        '{kind: Pod, namespace: zz-victim, name: web-0}',
      ),
      app('zz-victim', 'victim.test', '127.0.0.1', port, '{kind: Pod, namespace: zz-victim, name: web-0}'),
    ].join('---\n');
    serve({ ingressClass: 'sticky', allowLoopbackEndpoints: true }, yaml);
    const http = t.dp.ports.http;
    for (let i = 0; i < 4; i++) {
      assert.equal(json(await request({ port: http, host: 'victim.test' })).id, 'victim');
      assert.equal(json(await request({ port: http, host: 'attacker.test' })).id, 'attacker');
    }
  });

  test('the endpoint id of a Pod (pools and affinity key on it) is stable across rebuilds whatever its address', () => {
    const options = { ingressClass: 'sticky' };
    const ids = ['10.0.0.1', '10.0.0.2'].map((address) => {
      const yaml = app('zz-victim', 'victim.test', address, 8080, '{kind: Pod, name: web-0}');
      return build(viewFromYaml(yaml), options).body.backends[0]?.endpoints[0]?.id;
    });
    assert.deepEqual(ids, ['zz-victim/web-0:8080', 'zz-victim/web-0:8080']);
  });

  test('cluster mode refuses a loopback endpoint with a Warning naming the slice; standalone serves it', async () => {
    const yaml = app('tenant', 'loop.test', '127.0.0.1', port, '{kind: Pod, name: web-0}');
    const cluster = serve({ ingressClass: 'sticky' }, yaml);
    assert.deepEqual(
      cluster.diagnostics.map((d) => [
        d.severity,
        d.object.kind,
        d.object.namespace,
        d.object.name,
        d.reason,
      ]),
      [['Warning', 'EndpointSlice', 'tenant', 'web-abc', 'EndpointAddressRefused']],
    );
    assert.equal((await request({ port: t.dp.ports.http, host: 'loop.test' })).status, 503);
    serve({ ingressClass: 'sticky', allowLoopbackEndpoints: true }, yaml);
    assert.equal(json(await request({ port: t.dp.ports.http, host: 'loop.test' })).id, 'victim');
  });
});
