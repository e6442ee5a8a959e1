import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { installGatewayCrds } from '../framework/gateway-crds.ts';
import { get, waitForResponse } from '../framework/http.ts';
import type { KubeObject } from '../framework/kube.ts';
import type { Backend } from '../framework/netns.ts';
import { endpointSlice, service } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

/**
 * Gateway API status on a real API server: the controller (chart RBAC) writes GatewayClass, Gateway
 * (conditions, listeners, addresses) and HTTPRoute parents status as the spec says, keeps other controllers'
 * parents entries, and does not rewrite a status that did not change.
 */

interface Condition {
  type: string;
  status: string;
  reason: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}
interface ParentStatus {
  parentRef: { name: string; namespace?: string };
  controllerName: string;
  conditions: Condition[];
}
interface Stored extends KubeObject {
  status?: {
    conditions?: Condition[];
    listeners?: {
      name: string;
      attachedRoutes: number;
      supportedKinds: { group?: string; kind: string }[];
      conditions: Condition[];
    }[];
    addresses?: { type?: string; value: string }[];
    parents?: ParentStatus[];
  };
}

const V1 = 'gateway.networking.k8s.io/v1';
const OURS = 'sticky-ingress.dev/controller';
const OTHER = 'example.com/other-controller';
const byType = (list: readonly Condition[] | undefined) =>
  Object.fromEntries((list ?? []).map((c) => [c.type, c]));

describe('Gateway API status written by the leader', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  let other: string;
  let backend: Backend;

  const httpRoute = (
    namespace: string,
    name: string,
    hostnames: string[],
    backendRef: object,
  ): KubeObject => ({
    apiVersion: V1,
    kind: 'HTTPRoute',
    metadata: { name, namespace },
    spec: {
      parentRefs: [{ name: 'gw', namespace: ns }],
      hostnames,
      rules: [{ backendRefs: [{ port: 80, ...backendRef }] }],
    },
  });
  const route = (namespace: string, name: string) => env.admin.get<Stored>(V1, 'HTTPRoute', namespace, name);
  /** Our parents entry of a route, once written for the route's current generation. */
  const ourParent = (namespace: string, name: string) =>
    waitFor(
      async () => {
        const r = await route(namespace, name);
        const p = r.status?.parents?.find((x) => x.controllerName === OURS);
        const c = byType(p?.conditions);
        return c.Accepted?.observedGeneration === r.metadata.generation && c.ResolvedRefs ? c : undefined;
      },
      { description: `status.parents of HTTPRoute ${namespace}/${name}` },
    );

  before(async () => {
    env = await startEnv();
    await installGatewayCrds(env.admin);
    ns = await env.namespace('gw');
    other = await env.namespace('gw-other');
    backend = await env.host().startBackend('app-0');
    await env.admin.apply(service(ns, 'app'));
    await env.admin.apply(endpointSlice(ns, 'app', [backend]));
    await env.admin.apply({
      apiVersion: V1,
      kind: 'GatewayClass',
      metadata: { name: 'sticky' },
      spec: { controllerName: OURS },
    });
    await env.admin.apply({
      apiVersion: V1,
      kind: 'Gateway',
      metadata: { name: 'gw', namespace: ns },
      spec: {
        gatewayClassName: 'sticky',
        listeners: [
          {
            name: 'http',
            protocol: 'HTTP',
            port: 80,
            hostname: '*.example.com',
            allowedRoutes: { namespaces: { from: 'All' } },
          },
        ],
      },
    });
    await env.admin.apply(httpRoute(ns, 'ok', ['ok.example.com'], { name: 'app' }));
    await env.admin.apply(httpRoute(ns, 'missing', ['missing.example.com'], { name: 'nope' }));
    await env.admin.apply(httpRoute(other, 'cross', ['cross.example.com'], { name: 'app', namespace: ns }));
    await env.admin.apply(httpRoute(ns, 'elsewhere', ['app.other.test'], { name: 'app' }));
    ctl = await env.controller(undefined, ['--publish-address', '192.0.2.10']);
  });

  after(async () => {
    await env?.close();
  });

  test('an accepted route: Accepted and ResolvedRefs True, and it serves', async () => {
    const c = await ourParent(ns, 'ok');
    assert.equal(c.Accepted?.status, 'True');
    assert.equal(c.Accepted?.reason, 'Accepted');
    assert.equal(c.ResolvedRefs?.status, 'True');
    assert.equal(c.ResolvedRefs?.reason, 'ResolvedRefs');
    const r = await waitForResponse(ctl.http, 'ok.example.com', '/', (x) => x.status === 200);
    assert.equal(r.backend, 'app-0');
  });

  test('a missing backend: ResolvedRefs False BackendNotFound, still Accepted', async () => {
    const c = await ourParent(ns, 'missing');
    assert.equal(c.Accepted?.status, 'True');
    assert.equal(c.ResolvedRefs?.status, 'False');
    assert.equal(c.ResolvedRefs?.reason, 'BackendNotFound');
  });

  test('a cross-namespace backend without ReferenceGrant: RefNotPermitted; a grant resolves it', async () => {
    const c = await ourParent(other, 'cross');
    assert.equal(c.ResolvedRefs?.status, 'False');
    assert.equal(c.ResolvedRefs?.reason, 'RefNotPermitted');
    assert.equal((await get(ctl.http, 'cross.example.com', '/')).status, 500);
    await env.admin.apply({
      apiVersion: 'gateway.networking.k8s.io/v1beta1',
      kind: 'ReferenceGrant',
      metadata: { name: 'from-other', namespace: ns },
      spec: {
        from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: other }],
        to: [{ group: '', kind: 'Service' }],
      },
    });
    await waitFor(
      async () =>
        byType(
          (await route(other, 'cross')).status?.parents?.find((p) => p.controllerName === OURS)?.conditions,
        ).ResolvedRefs?.status === 'True',
      { description: 'ResolvedRefs True once the ReferenceGrant exists' },
    );
    await waitForResponse(ctl.http, 'cross.example.com', '/', (x) => x.status === 200);
  });

  test('a hostname no listener matches: Accepted False NoMatchingListenerHostname', async () => {
    const c = await ourParent(ns, 'elsewhere');
    assert.equal(c.Accepted?.status, 'False');
    assert.equal(c.Accepted?.reason, 'NoMatchingListenerHostname');
  });

  test('GatewayClass Accepted; Gateway Accepted, Programmed, listener status and the published address', async () => {
    const gc = await waitFor(async () => {
      const g = await env.admin.get<Stored>(V1, 'GatewayClass', undefined, 'sticky');
      return byType(g.status?.conditions).Accepted?.status === 'True' ? g : undefined;
    });
    assert.equal(byType(gc.status?.conditions).Accepted?.observedGeneration, gc.metadata.generation);
    const gw = await waitFor(
      async () => {
        const g = await env.admin.get<Stored>(V1, 'Gateway', ns, 'gw');
        // ok, missing and cross attach (ResolvedRefs does not matter); elsewhere does not.
        return g.status?.listeners?.[0]?.attachedRoutes === 3 ? g : undefined;
      },
      { description: 'Gateway status with 3 attached routes' },
    );
    const c = byType(gw.status?.conditions);
    assert.equal(c.Accepted?.status, 'True');
    assert.equal(c.Programmed?.status, 'True');
    assert.equal(c.Accepted?.observedGeneration, gw.metadata.generation);
    const l = gw.status?.listeners?.[0];
    assert.equal(l?.name, 'http');
    assert.deepEqual(l?.supportedKinds, [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }]);
    const lc = byType(l?.conditions);
    assert.deepEqual(
      ['Accepted', 'ResolvedRefs', 'Programmed', 'Conflicted'].map((t) => lc[t]?.status),
      ['True', 'True', 'True', 'False'],
    );
    assert.deepEqual(gw.status?.addresses, [{ type: 'IPAddress', value: '192.0.2.10' }]);
  });

  test("other controllers' parents entries are kept; an unchanged status is not rewritten", async () => {
    await ourParent(ns, 'ok');
    const before = await route(ns, 'ok');
    const mine = before.status?.parents?.find((p) => p.controllerName === OURS);
    assert.ok(mine);
    // Another controller's entry for its own Gateway, written the way it would (status subresource).
    const foreign: ParentStatus = {
      parentRef: { name: 'theirs', namespace: ns },
      controllerName: OTHER,
      conditions: [
        {
          type: 'Accepted',
          status: 'True',
          reason: 'Accepted',
          observedGeneration: before.metadata.generation ?? 1,
          message: 'theirs',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    };
    const written = await env.admin.request<Stored>(
      'PUT',
      `/apis/${V1}/namespaces/${ns}/httproutes/ok/status`,
      {
        ...before,
        status: { parents: [...(before.status?.parents ?? []), foreign] },
      },
    );
    // A change elsewhere (elsewhere's hostname now matches) makes the leader build and sync again.
    await env.admin.apply(httpRoute(ns, 'elsewhere', ['elsewhere.example.com'], { name: 'app' }));
    await waitFor(async () => (await ourParent(ns, 'elsewhere')).Accepted?.status === 'True', {
      description: 'elsewhere accepted after its hostname changed',
    });
    await waitFor(
      async () =>
        (await env.admin.get<Stored>(V1, 'Gateway', ns, 'gw')).status?.listeners?.[0]?.attachedRoutes === 4,
      { description: 'the Gateway counts 4 attached routes' },
    );
    const after = await route(ns, 'ok');
    assert.deepEqual(
      after.status?.parents?.map((p) => p.controllerName).sort(),
      [OTHER, OURS].sort(),
      'both entries are there',
    );
    // The leader saw the foreign write and built and synced again since: it wrote nothing back.
    assert.equal(after.metadata.resourceVersion, written.metadata.resourceVersion, 'not rewritten');
    const again = after.status?.parents?.find((p) => p.controllerName === OURS);
    assert.deepEqual(again, mine, 'our entry, with its lastTransitionTime, is as it was');
  });

  test('allowedRoutes Selector: labelling a Namespace admits its route, removing the label evicts it', async () => {
    await env.admin.apply({
      apiVersion: V1,
      kind: 'Gateway',
      metadata: { name: 'sel', namespace: ns },
      spec: {
        gatewayClassName: 'sticky',
        listeners: [
          {
            name: 'http',
            protocol: 'HTTP',
            port: 80,
            hostname: '*.sel.test',
            allowedRoutes: {
              namespaces: { from: 'Selector', selector: { matchLabels: { 'gateway-access': 'yes' } } },
            },
          },
        ],
      },
    });
    const selRoute = httpRoute(other, 'by-label', ['app.sel.test'], { name: 'app', namespace: ns });
    (selRoute.spec as { parentRefs: object[] }).parentRefs = [{ name: 'sel', namespace: ns }];
    await env.admin.apply(selRoute);
    const accepted = (status: string) =>
      waitFor(
        async () => {
          const r = await route(other, 'by-label');
          const p = r.status?.parents?.find((x) => x.controllerName === OURS && x.parentRef.name === 'sel');
          const c = byType(p?.conditions).Accepted;
          return c?.status === status && c.observedGeneration === r.metadata.generation ? c : undefined;
        },
        { description: `by-label Accepted ${status}` },
      );
    assert.equal((await accepted('False')).reason, 'NotAllowedByListeners');
    assert.equal((await get(ctl.http, 'app.sel.test', '/')).status, 404);
    const label = (labels: Record<string, string>) =>
      env.admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: other, labels } });
    await label({ 'gateway-access': 'yes' });
    await accepted('True');
    const served = await waitForResponse(ctl.http, 'app.sel.test', '/', (x) => x.status === 200);
    assert.equal(served.backend, 'app-0');
    await label({});
    assert.equal((await accepted('False')).reason, 'NotAllowedByListeners');
    await waitForResponse(ctl.http, 'app.sel.test', '/', (x) => x.status === 404);
  });
});
