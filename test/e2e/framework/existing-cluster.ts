import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { ControllerProcess } from './controller.ts';
import { KubeClient } from './kube.ts';
import type { Backend, TestHost } from './netns.ts';
import type { Managed } from './processes.ts';
import { waitFor } from './wait.ts';

/**
 * The existing-cluster switch (test/cluster/e2e-on-node.sh, test/e2e/kind/run.sh): with STICKY_E2E_KUBECONFIG
 * set, suites run against that cluster and the ingress it already runs (the chart, release `sticky-ingress`
 * in `sticky-system`), instead of a local etcd + kube-apiserver and controller processes.
 * The only reader of the STICKY_E2E_* variables.
 */
export interface ExistingCluster {
  kubeconfig: string;
  /** Address of the ingress: its Service's ClusterIP on the test node, 127.0.0.1 on kind. */
  address: string;
  /** Ports of the ingress at `address`. */
  http: number;
  https: number;
  backendImage: string;
}

/** Where the chart runs the ingress on an existing cluster (both scripts install it so). */
const INGRESS_NAMESPACE = 'sticky-system';
const INGRESS_SELECTOR = 'app.kubernetes.io/name=sticky-ingress';

/** The switch's settings, or undefined (the default: the suites start their own cluster). */
export function existingCluster(): ExistingCluster | undefined {
  const kubeconfig = process.env.STICKY_E2E_KUBECONFIG;
  if (!kubeconfig) return undefined;
  const url = (name: string) => {
    const value = process.env[name];
    return value ? new URL(value) : undefined;
  };
  const http = url('STICKY_E2E_INGRESS_HTTP');
  const https = url('STICKY_E2E_INGRESS_HTTPS');
  return {
    kubeconfig,
    address: http?.hostname || '127.0.0.1',
    // URL elides a scheme's default port (http://10.96.0.5:80 has port ''): that is 80 (443), not unset.
    http: http ? Number(http.port) || 80 : 8080,
    https: https ? Number(https.port) || 443 : 8443,
    backendImage: process.env.STICKY_E2E_BACKEND_IMAGE ?? 'sticky-backend:e2e',
  };
}

/** The address the framework's HTTP helpers connect to: the existing cluster's ingress, else 127.0.0.1. */
export function ingressAddress(): string {
  return existingCluster()?.address ?? '127.0.0.1';
}

/** An admin client from the kubeconfig's current context (token or client certificate). */
export function clientFor(target: { kubeconfig: string }): {
  client: KubeClient;
  server: string;
  caPem: string;
} {
  const kc = new KubeConfig();
  kc.loadFromFile(target.kubeconfig);
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user) throw new Error(`${target.kubeconfig}: no current context`);
  const pem = (data?: string, file?: string) =>
    data ? Buffer.from(data, 'base64').toString('utf8') : file ? readFileSync(file, 'utf8') : '';
  const caPem = pem(cluster.caData, cluster.caFile);
  const cert = pem(user.certData, user.certFile);
  const key = pem(user.keyData, user.keyFile);
  const client = new KubeClient(
    cluster.server,
    user.token ?? '',
    caPem,
    cert && key ? { cert, key } : undefined,
  );
  return { client, server: cluster.server, caPem };
}

interface PodJson {
  metadata: { name: string };
  status?: {
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { restartCount: number }[];
  };
}

const isReady = (pod: PodJson) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/**
 * The in-cluster ingress as a ControllerProcess: its Service's address and ports; logs, the admin port and
 * liveness of its pods read through the API server (Pod logs, the Pod proxy, Pod status).
 */
export function clusterIngress(client: KubeClient, target: ExistingCluster, name: string): ControllerProcess {
  const pods = () =>
    client.list<PodJson>(
      'v1',
      'Pod',
      INGRESS_NAMESPACE,
      `labelSelector=${encodeURIComponent(INGRESS_SELECTOR)}`,
    );
  let lines: Record<string, unknown>[] = [];
  const fetchLogs = async () => {
    const out: Record<string, unknown>[] = [];
    for (const pod of await pods()) {
      const text = await client.text(`/api/v1/namespaces/${INGRESS_NAMESPACE}/pods/${pod.metadata.name}/log`);
      for (const line of text.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          out.push(JSON.parse(line) as Record<string, unknown>);
        } catch {}
      }
    }
    lines = out;
    return out;
  };
  return {
    name,
    address: target.address,
    http: target.http,
    https: target.https,
    admin: 0,
    process: undefined as unknown as Managed,
    logs: () => lines,
    waitForLog: (match, description, timeoutMs = 30_000) =>
      waitFor(async () => (await fetchLogs()).find(match), {
        timeoutMs,
        intervalMs: 500,
        maxIntervalMs: 2_000,
        description: `${name}: ${description}`,
      }),
    async admin200(path) {
      const list = await pods();
      for (const pod of list) {
        // The Pod proxy reaches the admin listener on the pod IP (the chart's default bind address).
        await client.text(
          `/api/v1/namespaces/${INGRESS_NAMESPACE}/pods/${pod.metadata.name}:9090/proxy${path}`,
        );
      }
      return list.length > 0;
    },
    async running() {
      const list = await pods();
      return (
        list.length > 0 &&
        list.every((p) => isReady(p) && p.status?.containerStatuses?.[0]?.restartCount === 0)
      );
    },
    stop: async () => {},
  };
}

/** The readiness path backend.ts serves (its readinessProbe), toggled by pod-endpoints.ts. */
export const BACKEND_READY_PATH = '/__e2e/ready';

/**
 * Backends as Pods of the backend image in the namespace `namespace()` names (the file's latest: a Service
 * selects Pods of its own namespace only). A Pod keeps serving for 600 s once deleted (preStop sleep), as a
 * real app drains, so a terminating endpoint is a real one; stop() and close() delete at once.
 */
export function podHost(
  client: KubeClient,
  target: ExistingCluster,
  seq: number,
  namespace: () => string,
): TestHost {
  const pods: { namespace: string; name: string }[] = [];
  const remove = async (pod: { namespace: string; name: string }) => {
    await client
      .request('DELETE', `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}?gracePeriodSeconds=0`)
      .catch(() => {});
    await waitFor(async () => (await client.find('v1', 'Pod', pod.namespace, pod.name)) === undefined, {
      timeoutMs: 60_000,
      description: `pod ${pod.name} deleted`,
    });
  };
  return {
    name: `pods-${seq}`,
    address: '',
    hostAddress: '',
    async startBackend(id: string, port = 3000): Promise<Backend> {
      const pod = { namespace: namespace(), name: `${id}-${seq}`.toLowerCase().replace(/[^a-z0-9-]/g, '-') };
      await client.apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { ...pod, labels: { 'e2e.sticky-ingress.dev/backend': id } },
        spec: {
          terminationGracePeriodSeconds: 600,
          containers: [
            {
              name: 'backend',
              image: target.backendImage,
              imagePullPolicy: 'IfNotPresent',
              args: ['--id', id, '--host', '0.0.0.0', '--port', String(port)],
              ports: [{ containerPort: port }],
              readinessProbe: {
                httpGet: { path: BACKEND_READY_PATH, port },
                periodSeconds: 1,
                failureThreshold: 1,
              },
              lifecycle: { preStop: { sleep: { seconds: 600 } } },
            },
          ],
        },
      });
      pods.push(pod);
      const address = await waitFor(
        async () => {
          const p = await client.get<PodJson>('v1', 'Pod', pod.namespace, pod.name);
          return isReady(p) ? p.status?.podIP : undefined;
        },
        { timeoutMs: 120_000, description: `pod ${pod.name} ready` },
      );
      return { id, address, port, pod, process: undefined as unknown as Managed, stop: () => remove(pod) };
    },
    async close() {
      await Promise.all(pods.map(remove));
    },
  };
}
