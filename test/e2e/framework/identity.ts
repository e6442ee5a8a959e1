import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import type { ClusterHandle } from './cluster.ts';
import { KubeApiError, type KubeClient, type KubeObject } from './kube.ts';
import { waitFor } from './wait.ts';

const CHART = 'deploy/helm/sticky-ingress';
const FIXTURES = new URL('./fixtures/', import.meta.url);
/** The kube-apiserver the tools build (Helm's default kubeVersion is too old for the chart's constraint). */
const KUBE_VERSION = 'v1.36.3';

/** Whether the Helm chart exists yet (until then the fixtures stand in for its RBAC and CRD). */
export function chartPresent(): boolean {
  return existsSync(join(CHART, 'Chart.yaml'));
}

/**
 * The ClusterRole and Role the controller runs with: rendered from the Helm chart (`helm template
 * --show-only`) when it exists, else the fixture with the same least-privilege rules.
 */
export function controllerRbac(tools: string, namespace: string): KubeObject[] {
  if (!chartPresent()) {
    const text = readFileSync(new URL('rbac.yaml', FIXTURES), 'utf8').replaceAll('NAMESPACE', namespace);
    return loadAllYaml(text).filter(Boolean) as KubeObject[];
  }
  const args = ['template', 'e2e', CHART, '--namespace', namespace, '--kube-version', KUBE_VERSION];
  for (const file of ['templates/clusterrole.yaml', 'templates/role.yaml']) {
    if (existsSync(join(CHART, file))) args.push('--show-only', file);
  }
  const text = execFileSync(join(tools, 'helm'), args, { encoding: 'utf8' });
  return (loadAllYaml(text).filter(Boolean) as KubeObject[]).filter(
    (o) => o.kind === 'ClusterRole' || o.kind === 'Role',
  );
}

/** The StickyRoute CRD: the chart's (crds/) when present, else the schemaless fixture. */
export function stickyRouteCrd(): KubeObject {
  const dir = join(CHART, 'crds');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /stickyroute/i.test(f)) : [];
  const text = files[0]
    ? readFileSync(join(dir, files[0]), 'utf8')
    : readFileSync(new URL('stickyroute-crd.yaml', FIXTURES), 'utf8');
  const crd = (loadAllYaml(text) as KubeObject[]).find((o) => o?.kind === 'CustomResourceDefinition');
  if (!crd) throw new Error('no StickyRoute CustomResourceDefinition found');
  return crd;
}

/** Installs the StickyRoute CRD and waits until the API serves it. */
export async function installCrd(admin: KubeClient): Promise<void> {
  const crd = await admin.applyParsed(stickyRouteCrd());
  await waitFor(
    async () => {
      const got = await admin.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
        crd.apiVersion,
        crd.kind,
        undefined,
        crd.metadata.name,
      );
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    },
    { description: 'StickyRoute CRD established' },
  );
  await waitFor(() => admin.list('sticky-ingress.dev/v1alpha1', 'StickyRoute', 'default').then(() => true), {
    description: 'stickyroutes served',
  });
}

/** A ServiceAccount bound to the controller's roles, and a kubeconfig that authenticates as it. */
export interface ControllerIdentity {
  namespace: string;
  serviceAccount: string;
  kubeconfig: string;
  token: string;
  rules: KubeObject[];
}

/**
 * Creates `namespace`, a ServiceAccount, the chart's ClusterRole/Role bound to it, and a kubeconfig
 * with a TokenRequest token (1 h), written into the cluster's temp folder.
 */
export async function createControllerIdentity(
  cluster: ClusterHandle,
  admin: KubeClient,
  namespace: string,
  serviceAccount = 'sticky-ingress',
  /** Tests of degraded permissions drop rules (the roles are then named after the ServiceAccount). */
  keepRule?: (rule: { apiGroups?: string[]; resources?: string[] }) => boolean,
): Promise<ControllerIdentity> {
  await ensureNamespace(admin, namespace);
  await admin.apply({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: serviceAccount, namespace },
  });
  let rules = controllerRbac(cluster.tools, namespace);
  if (keepRule) {
    rules = rules.map((role) => ({
      ...role,
      metadata: { ...role.metadata, name: `${role.metadata.name}-${serviceAccount}` },
      rules: ((role.rules as { apiGroups?: string[]; resources?: string[] }[] | undefined) ?? []).filter(
        keepRule,
      ),
    }));
  }
  const subject = { kind: 'ServiceAccount', name: serviceAccount, namespace };
  for (const role of rules) {
    await admin.applyParsed(role);
    const binding = `${role.metadata.name}-${serviceAccount}`;
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: role.kind, name: role.metadata.name };
    const kind = role.kind === 'ClusterRole' ? 'ClusterRoleBinding' : 'RoleBinding';
    const ns = role.kind === 'Role' ? (role.metadata.namespace ?? namespace) : undefined;
    await admin.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind,
      metadata: { name: binding, ...(ns ? { namespace: ns } : {}) },
      roleRef,
      subjects: [subject],
    });
  }
  const tr = await admin.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  );
  const kubeconfig = join(cluster.dir, `kubeconfig-${namespace}-${serviceAccount}`);
  await writeKubeconfig(kubeconfig, cluster, tr.status.token, `${namespace}:${serviceAccount}`);
  return { namespace, serviceAccount, kubeconfig, token: tr.status.token, rules };
}

/** Creates a namespace unless it exists. */
export async function ensureNamespace(admin: KubeClient, name: string): Promise<void> {
  try {
    await admin.request('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
    });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.statusCode === 409)) throw err;
  }
}

/** Writes a kubeconfig (token user, the apiserver's CA) to `path`. */
export async function writeKubeconfig(
  path: string,
  cluster: ClusterHandle,
  token: string,
  user: string,
): Promise<void> {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'e2e',
        cluster: {
          server: cluster.server,
          'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user } }],
    'current-context': 'e2e',
  };
  await writeFile(path, JSON.stringify(config, null, 2), { mode: 0o600 });
}
