import { randomBytes } from 'node:crypto';
import { type ClusterHandle, startCluster } from './cluster.ts';
import { type ControllerProcess, startController, writeAffinityKey } from './controller.ts';
import {
  clientFor,
  clusterIngress,
  type ExistingCluster,
  existingCluster,
  podHost,
} from './existing-cluster.ts';
import {
  type ControllerIdentity,
  createControllerIdentity,
  ensureNamespace,
  installCrd,
} from './identity.ts';
import { KubeClient } from './kube.ts';
import { createTestHost, type TestHost } from './netns.ts';
import { endpointSlice } from './objects.ts';
import { PodEndpoints, type SliceEntry } from './pod-endpoints.ts';
import { waitFor } from './wait.ts';

/** The IngressClass the e2e controllers serve (the chart's default). */
export const INGRESS_CLASS = 'sticky';

/**
 * One test file's world: a fresh apiserver, an admin client, the StickyRoute CRD, an IngressClass, the
 * controller's ServiceAccount (chart RBAC), and bookkeeping so `close()` stops every controller, backend
 * and network namespace the file started.
 */
export interface E2eEnv {
  cluster: ClusterHandle;
  admin: KubeClient;
  identity: ControllerIdentity;
  /** Shared by every controller of the file: replicas agree on affinity cookies. */
  affinityKeyFile: string;
  /** A new namespace with a unique name. */
  namespace(prefix?: string): Promise<string>;
  /** A new network namespace (backend host; on an existing cluster: Pods in the latest namespace); closed with the env. */
  host(): TestHost;
  /**
   * Points Service `service` at `backends` as EndpointSlice `slice` (default `<service>-e2e`): a hand-written
   * slice here; on an existing cluster the Pods join the Service and its EndpointSlice controller writes the
   * slices (pod-endpoints.ts). Resolves once the API shows them.
   */
  endpoints(
    namespace: string,
    service: string,
    backends: readonly SliceEntry[],
    slice?: string,
  ): Promise<void>;
  /** Deletes EndpointSlice `slice` (on an existing cluster: its Pods leave the Service). */
  removeEndpoints(namespace: string, slice: string): Promise<void>;
  /** Starts a controller child process as the ServiceAccount (or `opts.identity`); stopped with the env. */
  controller(
    name?: string,
    extraArgs?: string[],
    opts?: { waitReady?: boolean; identity?: ControllerIdentity },
  ): Promise<ControllerProcess>;
  /** Another ServiceAccount in the controller namespace with the chart's rules filtered by `keepRule`. */
  identityWith(
    serviceAccount: string,
    keepRule: (rule: { apiGroups?: string[]; resources?: string[] }) => boolean,
  ): Promise<ControllerIdentity>;
  close(): Promise<void>;
}

/**
 * Starts a file's world (see E2eEnv); `crd: false` leaves the StickyRoute CRD out. With STICKY_E2E_KUBECONFIG
 * set, the world is that cluster instead (existing-cluster.ts).
 */
export async function startEnv(options: { crd?: boolean } = {}): Promise<E2eEnv> {
  const target = existingCluster();
  if (target !== undefined) return existingEnv(target);
  const cluster = await startCluster();
  const admin = new KubeClient(cluster.server, cluster.adminToken, cluster.caPem);
  const hosts: TestHost[] = [];
  const controllers: ControllerProcess[] = [];
  try {
    if (options.crd !== false) await installCrd(admin);
    await admin.apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: INGRESS_CLASS },
      spec: { controller: 'sticky-ingress.dev/controller' },
    });
    const identity = await createControllerIdentity(cluster, admin, 'sticky-system');
    const affinityKeyFile = await writeAffinityKey(cluster.dir);
    let seq = 0;
    return {
      cluster,
      admin,
      identity,
      affinityKeyFile,
      async namespace(prefix = 'e2e') {
        const name = `${prefix}-${randomBytes(3).toString('hex')}`;
        await ensureNamespace(admin, name);
        return name;
      },
      identityWith(serviceAccount, keepRule) {
        return createControllerIdentity(cluster, admin, identity.namespace, serviceAccount, keepRule);
      },
      host() {
        const h = createTestHost();
        hosts.push(h);
        return h;
      },
      async endpoints(namespace, serviceName, backends, slice = `${serviceName}-e2e`) {
        await admin.apply(endpointSlice(namespace, serviceName, backends, slice));
      },
      async removeEndpoints(namespace, slice) {
        await admin.delete('discovery.k8s.io/v1', 'EndpointSlice', namespace, slice);
      },
      async controller(name, extraArgs = [], opts = {}) {
        seq += 1;
        const c = await startController({
          name: name ?? `controller-${seq}`,
          kubeconfig: (opts.identity ?? identity).kubeconfig,
          leaseNamespace: identity.namespace,
          affinityKeyFile,
          extraArgs,
          waitReady: opts.waitReady ?? true,
        });
        controllers.push(c);
        return c;
      },
      async close() {
        await Promise.all(controllers.map((c) => c.stop()));
        await Promise.all(hosts.map((h) => h.close()));
        await admin.close();
        await cluster.close();
      },
    };
  } catch (err) {
    await Promise.all(hosts.map((h) => h.close()));
    await admin.close();
    await cluster.close();
    throw err;
  }
}

/**
 * The world on an existing cluster (test/cluster/e2e-on-node.sh, test/e2e/kind/run.sh): its API server and the
 * ingress it runs (chart and CRD installed by the script); `controller()` returns that ingress,
 * `host().startBackend()` starts a Pod, `endpoints()` drives the cluster's EndpointSlice controller. What needs
 * a local apiserver or controller process (stopping the apiserver, identities) throws. close() deletes the
 * namespaces the file made, so no Ingress of one file serves in the next.
 */
async function existingEnv(target: ExistingCluster): Promise<E2eEnv> {
  const { client: admin, server, caPem } = clientFor(target);
  const hosts: TestHost[] = [];
  const namespaces: string[] = [];
  const pods = new PodEndpoints(admin);
  const latest = () => {
    const ns = namespaces.at(-1);
    if (!ns) throw new Error('env.namespace() first: backend Pods live in the namespace of their Service');
    return ns;
  };
  const local = (what: string) => () => {
    throw new Error(`${what}: not available against an existing cluster (leave this suite out in run.sh)`);
  };
  const cluster = {
    server,
    adminToken: '',
    caPem,
    dir: '',
    startupMs: 0,
    tools: '',
    stopApiServer: local('stopApiServer'),
    startApiServer: local('startApiServer'),
    close: async () => {},
  } as unknown as ClusterHandle;
  return {
    cluster,
    admin,
    identity: undefined as unknown as ControllerIdentity,
    affinityKeyFile: '',
    async namespace(prefix = 'e2e') {
      const name = `${prefix}-${randomBytes(3).toString('hex')}`;
      await ensureNamespace(admin, name);
      namespaces.push(name);
      return name;
    },
    identityWith: local('identityWith'),
    host() {
      const h = podHost(admin, target, hosts.length + 1, latest);
      hosts.push(h);
      return h;
    },
    endpoints: (namespace, serviceName, backends, slice = `${serviceName}-e2e`) =>
      pods.set(namespace, serviceName, backends, slice),
    removeEndpoints: (namespace, slice) => pods.remove(namespace, slice),
    async controller(name) {
      return clusterIngress(admin, target, name ?? 'in-cluster');
    },
    async close() {
      await Promise.all(hosts.map((h) => h.close()));
      for (const ns of namespaces) await admin.delete('v1', 'Namespace', undefined, ns);
      await waitFor(
        async () => {
          for (const ns of namespaces) if (await admin.find('v1', 'Namespace', undefined, ns)) return false;
          return true;
        },
        {
          timeoutMs: 180_000,
          intervalMs: 500,
          maxIntervalMs: 2_000,
          description: `namespaces ${namespaces} deleted`,
        },
      );
      await admin.close();
    },
  };
}
