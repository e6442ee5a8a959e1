import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { ingressAddress } from '../framework/existing-cluster.ts';
import { installGatewayCrds } from '../framework/gateway-crds.ts';
import { browse, closeAgents, get, waitForResponse } from '../framework/http.ts';
import type { KubeObject } from '../framework/kube.ts';
import { certificate, endpointSlice, service, tlsSecret } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

/**
 * The conformance suite's (v1.6.3) failures of its second run on the node, reproduced on a real API server
 * with the chart's RBAC and the pinned CRDs: a route attached to a listener whose certificate does not
 * resolve is counted (GatewayWithAttachedRoutes), a listener of an unsupported protocol supports no kind
 * (GatewayListenerUnsupportedProtocol), Gateway wildcards match several labels while an Ingress's match one
 * (HTTPRouteListenerHostnameMatching), and an HTTPS listener without hostname presents its certificate for
 * a name no route serves (HTTPRouteHTTPSListener).
 */

interface Condition {
  type: string;
  status: string;
  reason: string;
  observedGeneration?: number;
}
interface Stored extends KubeObject {
  status?: {
    conditions?: Condition[];
    listeners?: { name: string; attachedRoutes: number; supportedKinds: object[]; conditions: Condition[] }[];
    parents?: { controllerName: string; conditions: Condition[] }[];
  };
}

const V1 = 'gateway.networking.k8s.io/v1';
const OURS = 'sticky-ingress.dev/controller';
const byType = (list: readonly Condition[] | undefined) =>
  Object.fromEntries((list ?? []).map((c) => [c.type, c]));

describe('Gateway API conformance cases on a real API server', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  let ca: string;

  const gateway = (name: string, listeners: object[]): KubeObject => ({
    apiVersion: V1,
    kind: 'Gateway',
    metadata: { name, namespace: ns },
    spec: { gatewayClassName: 'sticky', listeners },
  });
  const httpRoute = (
    name: string,
    parentRefs: object[],
    hostnames: string[],
    backend = 'app',
  ): KubeObject => ({
    apiVersion: V1,
    kind: 'HTTPRoute',
    metadata: { name, namespace: ns },
    spec: { parentRefs, hostnames, rules: [{ backendRefs: [{ name: backend, port: 80 }] }] },
  });
  /** The Gateway's status once written for its current generation. */
  const gatewayStatus = (name: string, ready: (g: Stored) => boolean) =>
    waitFor(
      async () => {
        const g = await env.admin.get<Stored>(V1, 'Gateway', ns, name);
        const accepted = byType(g.status?.conditions).Accepted;
        return accepted?.observedGeneration === g.metadata.generation && ready(g) ? g : undefined;
      },
      { description: `status of Gateway ${name}` },
    );

  before(async () => {
    env = await startEnv();
    await installGatewayCrds(env.admin);
    ns = await env.namespace('gwconf');
    const backend = await env.host().startBackend('app-0');
    await env.admin.apply(service(ns, 'app'));
    await env.admin.apply(endpointSlice(ns, 'app', [backend]));
    const pem = await certificate(['*.example.org', 'example.org'], 'listener-any');
    ca = pem.cert;
    await env.admin.apply(tlsSecret(ns, 'any-tls', pem));
    await env.admin.apply({
      apiVersion: V1,
      kind: 'GatewayClass',
      metadata: { name: 'sticky' },
      spec: { controllerName: OURS },
    });
    await env.admin.apply(
      gateway('unresolved', [
        {
          name: 'tls',
          protocol: 'HTTPS',
          port: 443,
          tls: {
            mode: 'Terminate',
            certificateRefs: [{ group: '', kind: 'Secret', name: 'does-not-exist' }],
          },
        },
      ]),
    );
    await env.admin.apply(
      httpRoute('on-unresolved', [{ name: 'unresolved', sectionName: 'tls' }], [], 'nope'),
    );
    await env.admin.apply(
      gateway('unsupported', [
        { name: 'http', protocol: 'HTTP', port: 80, hostname: 'unsupported.test' },
        { name: 'invalid', protocol: 'INVALID', port: 1111 },
      ]),
    );
    await env.admin.apply(
      gateway('hosts', [
        { name: 'exact', protocol: 'HTTP', port: 80, hostname: 'foo.bar.test' },
        { name: 'wild', protocol: 'HTTP', port: 80, hostname: '*.bar.test' },
        { name: 'https', protocol: 'HTTPS', port: 443, tls: { certificateRefs: [{ name: 'any-tls' }] } },
      ]),
    );
    await env.admin.apply(httpRoute('exact', [{ name: 'hosts', sectionName: 'exact' }], []));
    await env.admin.apply(httpRoute('wild', [{ name: 'hosts', sectionName: 'wild' }], []));
    await env.admin.apply(httpRoute('tls', [{ name: 'hosts', sectionName: 'https' }], ['example.org']));
    await env.admin.apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'one-label', namespace: ns },
      spec: {
        ingressClassName: 'sticky',
        rules: [
          {
            host: '*.ingress.test',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'app', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    });
    ctl = await env.controller();
  });

  after(async () => {
    await closeAgents();
    await env?.close();
  });

  test('a listener whose certificate does not resolve still counts its attached route', async () => {
    const gw = await gatewayStatus('unresolved', (g) => g.status?.listeners?.[0]?.attachedRoutes === 1);
    const l = byType(gw.status?.listeners?.[0]?.conditions);
    assert.equal(l.ResolvedRefs?.status, 'False');
    assert.equal(l.Programmed?.status, 'False');
    const route = await waitFor(async () => {
      const r = await env.admin.get<Stored>(V1, 'HTTPRoute', ns, 'on-unresolved');
      const c = byType(r.status?.parents?.find((p) => p.controllerName === OURS)?.conditions);
      return c.ResolvedRefs ? c : undefined;
    });
    assert.equal(route.Accepted?.status, 'True');
    assert.equal(route.ResolvedRefs?.status, 'False');
  });

  test('a listener of an unsupported protocol: Accepted False UnsupportedProtocol, no supported kinds', async () => {
    const gw = await gatewayStatus('unsupported', (g) => g.status?.listeners?.length === 2);
    const gc = byType(gw.status?.conditions);
    assert.equal(gc.Accepted?.status, 'True');
    assert.equal(gc.Accepted?.reason, 'ListenersNotValid');
    const invalid = gw.status?.listeners?.find((l) => l.name === 'invalid');
    assert.equal(byType(invalid?.conditions).Accepted?.reason, 'UnsupportedProtocol');
    assert.deepEqual(invalid?.supportedKinds, []);
  });

  test('a Gateway wildcard serves several labels, the exact listener wins; an Ingress wildcard stays one label', async () => {
    await waitForResponse(ctl.http, 'multiple.prefixes.bar.test', '/', (x) => x.status === 200);
    assert.equal((await get(ctl.http, 'foo.bar.test', '/')).status, 200);
    assert.equal((await get(ctl.http, 'bar.test', '/')).status, 404);
    await waitForResponse(ctl.http, 'a.ingress.test', '/', (x) => x.status === 200);
    assert.equal((await get(ctl.http, 'a.b.ingress.test', '/')).status, 404);
  });

  test('an HTTPS listener without hostname: its certificate verifies for a name no route serves, then 404', async () => {
    const url = `https://${ingressAddress()}:${ctl.https}/`;
    const served = await waitFor(
      async () => {
        const r = await browse(url, 'example.org', { ca }).catch(() => undefined);
        return r?.status === 200 ? r : undefined;
      },
      { description: 'example.org served over HTTPS with the listener certificate' },
    );
    assert.equal(served.backend, 'app-0');
    assert.equal((await browse(url, 'unknown.example.org', { ca })).status, 404);
  });
});
