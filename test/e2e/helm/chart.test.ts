import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { loadAllYaml } from '@kubernetes/client-node';
import { type ClusterHandle, startCluster } from '../framework/cluster.ts';
import { ensureNamespace, writeKubeconfig } from '../framework/identity.ts';
import { KubeClient, type KubeObject } from '../framework/kube.ts';
import { waitFor } from '../framework/wait.ts';
import {
  CHART,
  ciValuesFiles,
  Discovery,
  describeObject,
  dryRunCreate,
  rbacRules,
  renderChart,
} from './chart.ts';

const run = promisify(execFile);

/** What each CI values file must (and must not) render, beyond "everything is accepted". */
const expectations: Record<string, { has: string[]; lacks: string[] }> = {
  'defaults-values.yaml': {
    has: [
      'Deployment',
      'PodDisruptionBudget',
      'Secret',
      'IngressClass',
      'ClusterRole',
      'Role',
      'Service',
      'NetworkPolicy',
    ],
    lacks: ['DaemonSet', 'HorizontalPodAutoscaler', 'ServiceMonitor'],
  },
  'daemonset-values.yaml': { has: ['DaemonSet'], lacks: ['Deployment', 'PodDisruptionBudget'] },
  'hpa-values.yaml': { has: ['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'], lacks: [] },
  'servicemonitor-values.yaml': { has: ['ServiceMonitor', 'NetworkPolicy'], lacks: [] },
  'nodeport-values.yaml': { has: ['Role', 'RoleBinding'], lacks: ['PodDisruptionBudget'] },
  'existing-affinity-secret-values.yaml': { has: ['Deployment'], lacks: ['Secret'] },
  'workers-values.yaml': { has: ['Deployment'], lacks: [] },
};

const READ = ['get', 'list', 'watch'];
const ALLOWED_VERBS = new Set([...READ, 'create', 'update', 'patch']);

function namespaceOf(file: string): string {
  return `helm-${file.replace(/-values\.yaml$/, '')}`;
}

describe('Helm chart on a real kube-apiserver', () => {
  let cluster: ClusterHandle;
  let admin: KubeClient;
  let discovery: Discovery;

  before(async () => {
    cluster = await startCluster();
    admin = new KubeClient(cluster.server, cluster.adminToken, cluster.caPem);
    discovery = new Discovery(admin);
    // The ServiceMonitor kind belongs to the Prometheus Operator; a minimal CRD stands in for it.
    const text = readFileSync(new URL('./fixtures/servicemonitor-crd.yaml', import.meta.url), 'utf8');
    await installCrd(loadAllYaml(text)[0] as KubeObject);
  });

  after(async () => {
    await admin?.close();
    await cluster?.close();
  });

  /** Applies a CRD for real and waits until its kind is served. */
  async function installCrd(crd: KubeObject): Promise<void> {
    await admin.applyParsed(crd);
    const spec = crd.spec as { group: string; names: { kind: string }; versions: { name: string }[] };
    const apiVersion = `${spec.group}/${spec.versions[0]!.name}`;
    await waitFor(
      async () => {
        discovery.forget(apiVersion);
        return discovery.resource(apiVersion, spec.names.kind).then(() => true);
      },
      { timeoutMs: 30_000, description: `${spec.names.kind} served` },
    );
  }

  for (const file of ciValuesFiles()) {
    test(`ci/${file}: every rendered object passes a strict server-side dry-run create`, async () => {
      const namespace = namespaceOf(file);
      const rendered = await renderChart(cluster.tools, 'ci', namespace, ['-f', join(CHART, 'ci', file)]);
      const objects = rendered.map((r) => r.object);
      await ensureNamespace(admin, namespace);
      // Roles for controller.watchNamespaces land in those namespaces: they must exist for the create.
      for (const ns of new Set(objects.map((o) => o.metadata.namespace).filter((n) => n !== undefined))) {
        await ensureNamespace(admin, ns);
      }
      const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
      for (const crd of crds) await installCrd(crd);

      const rejected: string[] = [];
      const rest = rendered.filter((r) => r.object.kind !== 'CustomResourceDefinition');
      for (const item of rest) {
        try {
          const echoed = await dryRunCreate(admin, discovery, item);
          assert.equal(echoed.metadata.name, item.object.metadata.name);
        } catch (err) {
          rejected.push(`${describeObject(item.object)}: ${(err as Error).message}`);
        }
      }
      assert.deepEqual(rejected, [], `objects rejected by the API server:\n${rejected.join('\n')}`);

      const kinds = new Set(rest.map((r) => r.object.kind));
      const expected = expectations[file];
      assert.ok(expected, `add ci/${file} to the expectations table`);
      for (const kind of expected.has) assert.ok(kinds.has(kind), `ci/${file} renders no ${kind}`);
      for (const kind of expected.lacks) assert.ok(!kinds.has(kind), `ci/${file} must not render ${kind}`);
    });
  }

  test('RBAC: no wildcards, Secrets read-only, only the verbs the controller uses', async () => {
    for (const file of ciValuesFiles()) {
      const rendered = await renderChart(cluster.tools, 'ci', 'rbac', ['-f', join(CHART, 'ci', file)]);
      const rules = rbacRules(rendered.map((r) => r.object));
      assert.ok(rules.length > 0, `ci/${file} renders no RBAC rules`);
      for (const { role, rule } of rules) {
        const where = `ci/${file} ${role} ${JSON.stringify(rule)}`;
        for (const list of [rule.verbs, rule.resources ?? [], rule.apiGroups ?? []]) {
          assert.ok(!list.includes('*'), `wildcard in ${where}`);
        }
        assert.equal(rule.nonResourceURLs, undefined, `non-resource URLs in ${where}`);
        for (const verb of rule.verbs) assert.ok(ALLOWED_VERBS.has(verb), `verb ${verb} in ${where}`);
        if (rule.resources?.includes('secrets')) {
          assert.deepEqual([...rule.verbs].sort(), [...READ].sort(), `Secrets must be read-only: ${where}`);
        }
        if (rule.resources?.includes('leases')) {
          assert.ok(role.startsWith('Role '), `leases only in a namespaced Role: ${where}`);
          assert.deepEqual([...rule.verbs].sort(), ['create', 'get', 'update'], where);
        }
      }
    }
  });

  test('install, upgrade and uninstall keep the generated affinity key', async () => {
    const namespace = 'helm-install';
    await ensureNamespace(admin, namespace);
    const home = join(cluster.dir, 'helm-home');
    const kubeconfig = join(cluster.dir, 'kubeconfig-admin');
    await writeKubeconfig(kubeconfig, cluster, cluster.adminToken, 'e2e-admin');
    const env = {
      ...process.env,
      KUBECONFIG: kubeconfig,
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_DATA_HOME: join(home, 'data'),
    };
    const helm = (...args: string[]) =>
      run(join(cluster.tools, 'helm'), [...args, '--namespace', namespace], {
        env,
        maxBuffer: 16 * 1024 * 1024,
      });
    // A class name of its own: the dry-run tests above must not collide with a stored IngressClass.
    const common = [CHART, '--set', 'ingressClass.name=sticky-install'];
    const keyOf = async () => {
      const secret = await admin.get<{ data: Record<string, string> }>(
        'v1',
        'Secret',
        namespace,
        'edge-sticky-ingress-affinity-key',
      );
      return Buffer.from(secret.data['affinity-key']!, 'base64').toString('utf8');
    };

    await helm('install', 'edge', ...common);
    const first = await keyOf();
    assert.match(first, /^[A-Za-z0-9]{48}$/);
    const deployment = await admin.request<{
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    }>('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/edge-sticky-ingress`);
    assert.ok(
      deployment.spec.template.spec.containers[0]!.args.includes(
        '--affinity-key-file=/etc/sticky-ingress/affinity/affinity-key',
      ),
    );

    await helm('upgrade', 'edge', ...common, '--set', 'replicaCount=3');
    assert.equal(await keyOf(), first, 'an upgrade must keep the affinity key (cookies stay valid)');

    await helm('uninstall', 'edge');
    assert.equal(await keyOf(), first, 'uninstall keeps the Secret (helm.sh/resource-policy: keep)');
    await helm('install', 'edge', ...common);
    assert.equal(await keyOf(), first, 'a reinstall under the same name adopts the kept key');
    await helm('uninstall', 'edge');
  });
});
