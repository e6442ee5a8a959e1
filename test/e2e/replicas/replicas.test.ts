import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { cookiePair, get, waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { endpointSlice, ingress, service } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

const HOST = 'chat.example.com';
const LEASE = 'sticky-ingress-leader';

interface Lease {
  spec: { holderIdentity?: string | null };
}
interface IngressStatus {
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

describe('two controller replicas: one leader writes status, both serve, cookies agree', () => {
  let env: E2eEnv;
  let ns: string;
  const replicas = new Map<string, ControllerProcess>();
  const backends: Backend[] = [];
  let clusterIP = '';

  const holder = async () =>
    (await env.admin.find<Lease>('coordination.k8s.io/v1', 'Lease', env.identity.namespace, LEASE))?.spec
      .holderIdentity ?? undefined;
  const lbIngress = async () =>
    (await env.admin.get<IngressStatus>('networking.k8s.io/v1', 'Ingress', ns, 'chat')).status?.loadBalancer
      ?.ingress ?? [];

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('replicas');
    for (const id of ['chat-0', 'chat-1', 'chat-2']) backends.push(await env.host().startBackend(id));
    const publish = await env.admin.apply({
      ...service(env.identity.namespace, 'sticky-ingress'),
      // No load balancer has answered yet: the ClusterIP is what gets published first.
      spec: {
        type: 'LoadBalancer',
        allocateLoadBalancerNodePorts: false,
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
    });
    clusterIP = String((publish.spec as unknown as { clusterIP: string }).clusterIP);
    await env.admin.apply(service(ns, 'chat'));
    await env.admin.apply(endpointSlice(ns, 'chat', backends));
    await env.admin.apply(
      ingress(ns, 'chat', [{ host: HOST, service: 'chat' }], {
        annotations: { 'sticky-ingress.dev/affinity': 'cookie' },
      }),
    );
    const args = ['--publish-service', `${env.identity.namespace}/sticky-ingress`];
    for (const name of ['replica-a', 'replica-b']) replicas.set(name, await env.controller(name, args));
  });

  after(async () => {
    await env?.close();
  });

  test('exactly one replica holds the Lease and only it reports leadership', async () => {
    const name = await waitFor(holder, { description: 'a Lease holder' });
    assert.ok(replicas.has(name), `holder ${name} is one of the replicas`);
    const leaderLines = [...replicas.values()].filter((r) => r.logs().some((l) => l.msg === 'became leader'));
    assert.deepEqual(
      leaderLines.map((r) => r.name),
      [name],
    );
  });

  test('the leader publishes the publish Service ClusterIP in Ingress status', async () => {
    const got = await waitFor(
      async () => ((await lbIngress())[0]?.ip === clusterIP ? lbIngress() : undefined),
      {
        description: 'Ingress status with the ClusterIP',
      },
    );
    assert.deepEqual(got, [{ ip: clusterIP }]);
  });

  test("the publish Service's load-balancer address replaces the ClusterIP", async () => {
    await env.admin.applyStatus({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'sticky-ingress', namespace: env.identity.namespace },
      status: { loadBalancer: { ingress: [{ hostname: 'lb-one.e2e.test' }] } },
    });
    await waitFor(async () => (await lbIngress())[0]?.hostname === 'lb-one.e2e.test', {
      description: 'Ingress status with the LB hostname',
    });
  });

  test('both replicas serve, and a cookie issued by one pins the same backend on the other', async () => {
    const [a, b] = [...replicas.values()] as [ControllerProcess, ControllerProcess];
    await waitForResponse(a.http, HOST, '/', (r) => r.status === 200);
    await waitForResponse(b.http, HOST, '/', (r) => r.status === 200);
    const seen = new Set<string>();
    for (let i = 0; i < 12; i += 1) {
      const first = await get(i % 2 === 0 ? a.http : b.http, HOST, '/');
      assert.equal(first.status, 200);
      const cookie = cookiePair(first, 'INGRESSCOOKIE');
      assert.ok(cookie, 'an affinity cookie is issued');
      seen.add(String(first.backend));
      for (const port of [a.http, b.http]) {
        const again = await get(port, HOST, '/', { cookie });
        assert.equal(again.backend, first.backend, `cookie ${cookie} routes to ${first.backend} on :${port}`);
      }
    }
    assert.ok(seen.size > 1, `new clients are balanced across backends (saw ${[...seen].join(', ')})`);
  });

  test('when the leader stops, the other replica takes over the Lease and keeps status current', async () => {
    const leaderName = String(await holder());
    const leader = replicas.get(leaderName) as ControllerProcess;
    const other = [...replicas.values()].find((r) => r !== leader) as ControllerProcess;
    await leader.stop();
    await waitFor(async () => (await holder()) === other.name, {
      timeoutMs: 30_000,
      description: `${other.name} holding the Lease`,
    });
    await env.admin.applyStatus({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'sticky-ingress', namespace: env.identity.namespace },
      status: { loadBalancer: { ingress: [{ hostname: 'lb-two.e2e.test' }] } },
    });
    await waitFor(async () => (await lbIngress())[0]?.hostname === 'lb-two.e2e.test', {
      description: 'the new leader updating Ingress status',
    });
    assert.equal((await get(other.http, HOST, '/')).status, 200);
  });
});
