import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { ControllerProcess } from './controller.ts';
import { KubeClient } from './kube.ts';
import type { Backend, TestHost } from './netns.ts';
import type { Managed } from './processes.ts';
import { waitFor } from './wait.ts';

/**
 * The existing-cluster switch (test/e2e/kind/run.sh): with STICKY_E2E_KUBECONFIG set, suites run against that
 * cluster and the ingress it already runs, instead of a local etcd + kube-apiserver and controller processes.
 * The only reader of the STICKY_E2E_* variables.
 */
export interface ExistingCluster {
  kubeconfig: string;
  /** Ports of the ingress on 127.0.0.1 (kind publishes its NodePorts there). */
  http: number;
  https: number;
  backendImage: string;
}

/** The switch's settings, or undefined (the default: the suites start their own cluster). */
export function existingCluster(): ExistingCluster | undefined {
  const kubeconfig = process.env.STICKY_E2E_KUBECONFIG;
  if (!kubeconfig) return undefined;
  const port = (name: string, fallback: number) => {
    const url = process.env[name];
    return url ? Number(new URL(url).port) || fallback : fallback;
  };
  return {
    kubeconfig,
    http: port('STICKY_E2E_INGRESS_HTTP', 8080),
    https: port('STICKY_E2E_INGRESS_HTTPS', 8443),
    backendImage: process.env.STICKY_E2E_BACKEND_IMAGE ?? 'sticky-backend:e2e',
  };
}

/** An admin client from the kubeconfig's current context (token or client certificate). */
export function clientFor(target: ExistingCluster): { client: KubeClient; server: string; caPem: string } {
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

/** The in-cluster ingress as a ControllerProcess: ports only; logs and the admin port are not reachable. */
export function clusterIngress(target: ExistingCluster, name: string): ControllerProcess {
  const unavailable = (what: string) => new Error(`${what}: not available against an existing cluster`);
  return {
    name,
    http: target.http,
    https: target.https,
    admin: 0,
    process: undefined as unknown as Managed,
    logs: () => [],
    waitForLog: () => Promise.reject(unavailable('controller logs')),
    admin200: () => Promise.reject(unavailable('the admin port')),
    stop: async () => {},
  };
}

const BACKEND_NAMESPACE = 'sticky-e2e-backends';

/**
 * Backends as Pods of the backend image in one namespace; the suites' own EndpointSlices then point at the
 * Pod IPs, which the in-cluster ingress reaches. close() deletes the Pods this host started.
 */
export function podHost(client: KubeClient, target: ExistingCluster, seq: number): TestHost {
  const pods: string[] = [];
  const remove = async (name: string) => {
    await client.delete('v1', 'Pod', BACKEND_NAMESPACE, name).catch(() => {});
    await waitFor(async () => (await client.find('v1', 'Pod', BACKEND_NAMESPACE, name)) === undefined, {
      timeoutMs: 60_000,
      description: `pod ${name} deleted`,
    });
  };
  return {
    name: `pods-${seq}`,
    address: '',
    hostAddress: '',
    async startBackend(id: string, port = 3000): Promise<Backend> {
      await client.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: BACKEND_NAMESPACE } });
      const name = `${id}-${seq}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
      await client.apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: BACKEND_NAMESPACE, labels: { 'sticky-e2e/backend': id } },
        spec: {
          containers: [
            {
              name: 'backend',
              image: target.backendImage,
              imagePullPolicy: 'IfNotPresent',
              args: ['--id', id, '--host', '0.0.0.0', '--port', String(port)],
              readinessProbe: { tcpSocket: { port }, periodSeconds: 1 },
            },
          ],
        },
      });
      pods.push(name);
      const address = await waitFor(
        async () => {
          const pod = (await client.get('v1', 'Pod', BACKEND_NAMESPACE, name)) as {
            status?: { podIP?: string; conditions?: { type: string; status: string }[] };
          };
          const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
          return ready ? pod.status?.podIP : undefined;
        },
        { timeoutMs: 120_000, description: `pod ${name} ready` },
      );
      return { id, address, port, process: undefined as unknown as Managed, stop: () => remove(name) };
    },
    async close() {
      await Promise.all(pods.map(remove));
    },
  };
}
