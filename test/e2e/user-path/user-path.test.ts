/**
 * The user's path on a real node (test/cluster/run.sh): the image built from the Dockerfile, the chart
 * installed with default values, a socket.io app behind it, and every check made from the host through the
 * chart's Service, the way a user's browser reaches it. Registers no tests unless run.sh brought a node up;
 * run.sh fails when the node cannot start.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { io, type Socket } from 'socket.io-client';
import { clientFor } from '../framework/existing-cluster.ts';
import type { KubeClient } from '../framework/kube.ts';
import { certificate, tlsSecret } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';
import {
  browse,
  closeAgents,
  helm,
  kubectl,
  kubectlApply,
  type Seen,
  servedCertificate,
  type TestNode,
  testNode,
} from './node.ts';
import { CHAT, chatDeployment, chatIngress, chatService } from './objects.ts';

const node = testNode();
const RELEASE = 'sticky-ingress';
const SYSTEM = 'sticky-system';

interface Hello {
  id: string;
  transport: string;
}

if (node) suite(node);

function suite(node: TestNode): void {
  describe('the user path: image, chart, Service, pods', () => {
    let admin: KubeClient;
    let pem: { cert: string; key: string };
    const http = `http://${node.lbAddress}`;
    const https = `https://${node.lbAddress}`;
    const sockets: Socket[] = [];

    /** A browser on chat.example.test (resolved to the LoadBalancer address), trusting the chat certificate. */
    const chat = (path = '/', cookie?: string) =>
      browse(`${https}${path}`, CHAT.host, { ca: pem.cert, ...(cookie ? { cookie } : {}) });

    before(async () => {
      ({ client: admin } = clientFor({ kubeconfig: node.kubeconfig, http: 0, https: 0, backendImage: '' }));
      // Default values plus the image name, and the metrics Service the /metrics check scrapes.
      await helm(node, [
        'upgrade',
        '--install',
        RELEASE,
        'deploy/helm/sticky-ingress',
        '--namespace',
        SYSTEM,
        '--create-namespace',
        '--set',
        `image.repository=${node.productImage.repository}`,
        '--set',
        `image.tag=${node.productImage.tag}`,
        '--set',
        'metrics.service.enabled=true',
      ]);
      // No cloud here: the suite plays the load balancer controller and gives the Service its address.
      await kubectl(node, [
        '-n',
        SYSTEM,
        'patch',
        'service',
        RELEASE,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: node.lbAddress }] } } }),
      ]);
      pem = await certificate([CHAT.host]);
      await admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: CHAT.namespace } });
      await admin.apply(tlsSecret(CHAT.namespace, CHAT.secret, pem));
      await kubectlApply(node, [chatDeployment(node.backendImage)]);
      await admin.apply(chatService());
      await admin.apply(chatIngress('chat', CHAT.host));
      await admin.apply(chatIngress('chat-any'));
      await kubectl(node, ['-n', SYSTEM, 'rollout', 'status', `deployment/${RELEASE}`, '--timeout=300s']);
      await kubectl(node, ['-n', CHAT.namespace, 'rollout', 'status', 'deployment/chat', '--timeout=300s']);
    });

    after(async () => {
      for (const s of sockets) s.disconnect();
      await closeAgents();
      await admin?.close();
    });

    test('one request through the LoadBalancer address reaches a chat pod', async () => {
      const r = await waitFor(
        async () => {
          const seen = await browse(`${http}/`, node.lbAddress);
          return seen.status === 200 ? seen : undefined;
        },
        { timeoutMs: 120_000, description: 'the chat route through the Service' },
      );
      assert.match(r.backend ?? '', /^chat-/);
    });

    test('the controller pods run under the kubelet as UID 10001 on a read-only root, probes passing', async () => {
      const pods = JSON.parse(
        await kubectl(node, [
          '-n',
          SYSTEM,
          'get',
          'pods',
          '-l',
          `app.kubernetes.io/name=${RELEASE}`,
          '-o',
          'json',
        ]),
      ) as { items: PodJson[] };
      assert.equal(pods.items.length, 2, 'the chart default: 2 replicas');
      for (const pod of pods.items) {
        assert.ok(isReady(pod), `${pod.metadata.name} Ready (readiness probe on /readyz)`);
        assert.equal(pod.status.containerStatuses?.[0]?.restartCount, 0, 'the liveness probe never failed');
        const exec = (script: string) =>
          kubectl(node, ['-n', SYSTEM, 'exec', pod.metadata.name, '--', 'node', '-e', script]);
        assert.equal(
          await exec("process.stdout.write(process.getuid() + ':' + process.getgid())"),
          '10001:10001',
        );
        const write = await exec(
          "try { require('fs').writeFileSync('/app/probe', 'x'); process.stdout.write('written') } catch (e) { process.stdout.write(e.code) }",
        );
        assert.equal(write, 'EROFS');
      }
    });

    test('HTTP redirects to an HTTPS URL that works, certificate from the Secret', async () => {
      await waitFor(async () => (await browse(`${http}/`, CHAT.host)).status === 308, {
        timeoutMs: 60_000,
        description: 'the redirect for chat.example.test',
      });
      const r = await browse(`${http}/rooms?x=1`, CHAT.host);
      assert.equal(r.status, 308);
      const location = new URL(String(r.headers.location));
      assert.equal(location.protocol, 'https:');
      assert.equal(location.hostname, CHAT.host);
      assert.equal(`${location.pathname}${location.search}`, '/rooms?x=1');
      // The browser follows it: chat.example.test resolves to the LoadBalancer address, the port is the URL's.
      const port = location.port || '443';
      const followed = await browse(`https://${node.lbAddress}:${port}/rooms?x=1`, CHAT.host, {
        ca: pem.cert,
      });
      assert.equal(followed.status, 200);
      assert.match(followed.backend ?? '', /^chat-/);
    });

    test('TLS rotation: a new certificate in the Secret is served without a restart', async () => {
      const before = await servedCertificate(node.lbAddress, 443, CHAT.host);
      assert.equal(before, pemBody(pem.cert));
      const next = await certificate([CHAT.host]);
      await admin.apply(tlsSecret(CHAT.namespace, CHAT.secret, next));
      await waitFor(
        async () => (await servedCertificate(node.lbAddress, 443, CHAT.host)) === pemBody(next.cert),
        {
          timeoutMs: 60_000,
          description: 'the rotated certificate',
        },
      );
      pem = next;
      assert.equal((await chat()).status, 200, 'the new certificate verifies for chat.example.test');
    });

    test('cookie affinity: a browser with the cookie stays on one pod; new browsers spread', async () => {
      const first = await chat();
      const cookie = first.setCookie.find((c) => c.startsWith(`${CHAT.cookie}=`))?.split(';')[0];
      assert.ok(cookie, `Set-Cookie ${CHAT.cookie} on the first response`);
      const pods = new Set<string>();
      for (let i = 0; i < 20; i += 1) pods.add((await chat('/', cookie)).backend ?? 'none');
      assert.deepEqual([...pods], [first.backend]);
      const fresh = new Set<string>();
      for (let i = 0; i < 30; i += 1) fresh.add((await chat()).backend ?? 'none');
      assert.ok(fresh.size > 1, `browsers without the cookie spread (saw ${[...fresh].join(', ')})`);
    });

    test('100 socket.io clients, polling then websocket, each stays on its pod', async () => {
      const connect = async (): Promise<{ socket: Socket; hello: Hello }> => {
        const socket = io(http, {
          transports: ['polling', 'websocket'],
          withCredentials: true,
          reconnection: false,
          forceNew: true,
          timeout: 20_000,
        });
        sockets.push(socket);
        const hello = await new Promise<Hello>((resolve, reject) => {
          socket.once('hello', resolve);
          socket.once('connect_error', reject);
        });
        return { socket, hello };
      };
      const clients: { socket: Socket; hello: Hello }[] = [];
      // Ten at a time: 100 handshakes at once would measure the shared machine, not the proxy.
      for (let batch = 0; batch < 10; batch += 1) {
        clients.push(...(await Promise.all(Array.from({ length: 10 }, connect))));
      }
      const moved: string[] = [];
      await Promise.all(
        clients.map(async ({ socket, hello }) => {
          assert.equal(hello.transport, 'polling');
          await waitFor(() => socket.io.engine.transport.name === 'websocket', {
            timeoutMs: 30_000,
            description: 'upgrade to websocket',
          });
          const me = (await socket.timeout(20_000).emitWithAck('whoami')) as Hello;
          if (me.id !== hello.id || me.transport !== 'websocket') moved.push(`${hello.id} -> ${me.id}`);
        }),
      );
      assert.deepEqual(moved, []);
      const pods = new Set(clients.map((c) => c.hello.id));
      assert.ok(pods.size > 1, `clients spread over the pods (saw ${[...pods].join(', ')})`);
      for (const { socket } of clients) socket.disconnect();
    });

    test('Ingress status shows the Service address; Events are visible', async () => {
      await waitFor(
        async () => {
          const ing = (await admin.get('networking.k8s.io/v1', 'Ingress', CHAT.namespace, 'chat')) as {
            status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
          };
          return ing.status?.loadBalancer?.ingress?.some((i) => i.ip === node.lbAddress);
        },
        { timeoutMs: 60_000, description: `Ingress status ${node.lbAddress}` },
      );
      await admin.apply({
        ...chatIngress('chat-bad', 'bad.example.test'),
        metadata: {
          name: 'chat-bad',
          namespace: CHAT.namespace,
          annotations: { 'sticky-ingress.dev/load-balance': 'fastest-please' },
        },
      });
      const events = await waitFor(
        async () => {
          const out = await kubectl(node, ['-n', CHAT.namespace, 'get', 'events', '-o', 'json']);
          const list = JSON.parse(out) as {
            items: { involvedObject: { name: string }; reason: string; message: string }[];
          };
          return list.items.find((e) => e.involvedObject.name === 'chat-bad');
        },
        { timeoutMs: 60_000, description: 'an Event for Ingress chat-bad' },
      );
      assert.match(events.message, /load-balance/);
      await admin.delete('networking.k8s.io/v1', 'Ingress', CHAT.namespace, 'chat-bad');
    });

    test('/metrics through the metrics Service counts the requests', async () => {
      const svc = (await admin.get('v1', 'Service', SYSTEM, `${RELEASE}-metrics`)) as {
        spec: { clusterIP: string };
      };
      const text = await waitFor(
        async () => {
          const r = await browse(`http://${svc.spec.clusterIP}:9090/metrics`, `${svc.spec.clusterIP}:9090`);
          return r.status === 200 ? r.text : undefined;
        },
        { timeoutMs: 30_000, description: 'metrics through the Service' },
      );
      const total = sumOf(text, 'sticky_ingress_requests_total');
      assert.ok(total > 0, `sticky_ingress_requests_total > 0 on the scraped pod (got ${total})`);
    });

    test('kubectl rollout restart of the app: zero failed requests', async () => {
      const result = await whileRollingOut(node, CHAT.namespace, 'chat', () => chat());
      assert.deepEqual(result.failures, []);
      assert.ok(result.ok > 0);
    });

    test('kubectl rollout restart of the controller: zero failed requests, sessions kept on their pods', async () => {
      const first = await chat();
      const cookie = first.setCookie.find((c) => c.startsWith(`${CHAT.cookie}=`))?.split(';')[0];
      assert.ok(cookie);
      const pinned = first.backend;
      const moved: string[] = [];
      const result = await whileRollingOut(node, SYSTEM, RELEASE, async () => {
        const r = await chat('/', cookie);
        if (r.status === 200 && r.backend !== pinned) moved.push(String(r.backend));
        return r;
      });
      assert.deepEqual(result.failures, []);
      assert.deepEqual(moved, [], `every request of the session stayed on ${pinned}`);
      assert.ok(result.ok > 0);
    });
  });
}

interface PodJson {
  metadata: { name: string };
  status: { conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number }[] };
}

function isReady(pod: PodJson): boolean {
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The base64 DER inside a PEM certificate (what servedCertificate returns). */
function pemBody(cert: string): string {
  return cert.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
}

/** The sum of every sample of `metric` in a Prometheus text exposition. */
function sumOf(text: string, metric: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${metric}{`) || line.startsWith(`${metric} `)) sum += Number(line.split(' ').pop());
  }
  return sum;
}

/**
 * Runs `kubectl rollout restart` of a Deployment and sends requests one after another until the rollout is
 * complete (bounded: 5000 requests). A failure is a network error or a status other than 200.
 */
async function whileRollingOut(
  node: TestNode,
  namespace: string,
  deployment: string,
  send: () => Promise<Seen>,
): Promise<{ ok: number; failures: string[] }> {
  await kubectl(node, ['-n', namespace, 'rollout', 'restart', `deployment/${deployment}`]);
  let done = false;
  const status = kubectl(node, [
    '-n',
    namespace,
    'rollout',
    'status',
    `deployment/${deployment}`,
    '--timeout=300s',
  ]).finally(() => {
    done = true;
  });
  const failures: string[] = [];
  let ok = 0;
  // Until the rollout is complete and the old pods are gone: they keep terminating after `rollout status`.
  let settled = false;
  const settle = status.then(() =>
    waitFor(
      async () =>
        !(await kubectl(node, ['-n', namespace, 'get', 'pods', '-o', 'json'])).includes(
          '"deletionTimestamp"',
        ),
      {
        timeoutMs: 120_000,
        intervalMs: 500,
        description: `old ${deployment} pods gone`,
      },
    ).finally(() => {
      settled = true;
    }),
  );
  for (let i = 0; i < 5000 && !(done && settled); i += 1) {
    try {
      const r = await send();
      if (r.status === 200) ok += 1;
      else failures.push(`status ${r.status}`);
    } catch (err) {
      failures.push((err as Error).message);
    }
    await delay(20);
  }
  await status;
  await settle;
  return { ok, failures };
}
