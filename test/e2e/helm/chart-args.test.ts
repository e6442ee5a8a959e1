import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { toolsDir } from '../framework/processes.ts';
import { CHART, ciValuesFiles, renderChart } from './chart.ts';

const CLI = 'cmd/sticky-ingress.ts';
const KEY_DIR = '/etc/sticky-ingress/affinity';

interface Container {
  args: string[];
  env?: { name: string }[];
}

/**
 * Starts `sticky-ingress serve` with the container args a values file renders, in standalone mode on
 * loopback port 0 (appended flags win over the chart's), and resolves once it applied its first snapshot.
 */
async function serveWith(
  args: string[],
  dir: string,
  manifests = join(dir, 'manifests'),
): Promise<{ exit: Promise<number | null>; stop(): void; httpPort(): number }> {
  const local = args.map((a) => a.replace(KEY_DIR, dir));
  const child = spawn(
    process.execPath,
    [
      CLI,
      ...local,
      `--manifests=${manifests}`,
      '--bind-address=127.0.0.1',
      '--admin-bind-address=127.0.0.1',
      '--http-port=0',
      '--https-port=0',
      '--admin-port=0',
      '--shutdown-delay=0s',
      '--drain-timeout=1s',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, STICKY_INGRESS_POD_NAME: 'chart-args-test' },
    },
  );
  let output = '';
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const applied = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('"msg":"snapshot applied"')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exit.then((code) => reject(new Error(`serve exited ${code} before its first snapshot:\n${output}`)));
  });
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  try {
    await applied;
  } catch (err) {
    stop();
    throw err;
  }
  const httpPort = () => {
    const line = output.split('\n').find((l) => l.includes('"msg":"listening"'));
    return Number((JSON.parse(line ?? '{}') as { http?: number }).http);
  };
  return { exit, stop, httpPort };
}

// What a browser sees through the chart's Service: plain HTTP on 80 redirected to HTTPS on 443.
const REDIRECT_MANIFESTS = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  ports: [{ name: http, port: 80, targetPort: 3000 }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: default
  annotations: { sticky-ingress.dev/force-ssl-redirect: "true" }
spec:
  ingressClassName: sticky
  rules:
    - host: secure.example.com
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: web, port: { name: http } } } }
`;

describe('the chart and the CLI agree on flags', () => {
  let tools: string;
  let dir: string;

  before(async () => {
    tools = toolsDir();
    dir = await mkdtemp(join(tmpdir(), 'chart-args-'));
    await writeFile(join(dir, 'affinity-key'), 'k'.repeat(48));
    await writeFile(join(dir, 'key'), 'k'.repeat(48));
    await mkdir(join(dir, 'manifests'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('default values: the HTTP->HTTPS redirect names the Service port a browser reaches (no :8443)', async () => {
    const rendered = await renderChart(tools, 'ci', 'sticky-system');
    const workload = rendered.find((r) => r.object.kind === 'Deployment');
    assert.ok(workload);
    const spec = workload.object.spec as { template: { spec: { containers: Container[] } } };
    const manifests = join(dir, 'redirect-manifests');
    await mkdir(manifests, { recursive: true });
    await writeFile(join(manifests, 'web.yaml'), REDIRECT_MANIFESTS);
    const server = await serveWith(spec.template.spec.containers[0]!.args, dir, manifests);
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) =>
        httpGet(
          {
            host: '127.0.0.1',
            port: server.httpPort(),
            path: '/path?q',
            headers: { host: 'secure.example.com' },
          },
          resolve,
        ).on('error', reject),
      );
      res.resume();
      assert.equal(res.statusCode, 308);
      assert.equal(res.headers.location, 'https://secure.example.com/path?q');
    } finally {
      server.stop();
    }
    assert.equal(await server.exit, 0);
  });

  for (const file of ciValuesFiles()) {
    test(`ci/${file}: sticky-ingress serve accepts every rendered flag and exits 0 on SIGTERM`, async () => {
      const rendered = await renderChart(tools, 'ci', 'sticky-system', ['-f', join(CHART, 'ci', file)]);
      const workload = rendered.find((r) => r.object.kind === 'Deployment' || r.object.kind === 'DaemonSet');
      assert.ok(workload, `ci/${file} renders no workload`);
      const spec = workload.object.spec as { template: { spec: { containers: Container[] } } };
      const container = spec.template.spec.containers[0]!;
      assert.equal(container.args[0], 'serve');
      assert.ok(
        container.env?.some((e) => e.name === 'STICKY_INGRESS_POD_NAME'),
        'pod name from the downward API',
      );
      const server = await serveWith(container.args, dir);
      server.stop();
      assert.equal(await server.exit, 0);
    });
  }
});
