import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
): Promise<{ exit: Promise<number | null>; stop(): void }> {
  const local = args.map((a) => a.replace(KEY_DIR, dir));
  const child = spawn(
    process.execPath,
    [
      CLI,
      ...local,
      `--manifests=${join(dir, 'manifests')}`,
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
  return { exit, stop };
}

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
