import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { MergedStatsReport } from '../../cmd/cluster/aggregate.ts';
import { appManifests, httpGet, startNamedBackend, startServe, tempDir, writeFile } from './helpers.ts';

type Stats = MergedStatsReport;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('sticky-ingress serve --workers 2', () => {
  test('both workers serve, agree on cookies, get every snapshot; a killed worker is replaced; SIGTERM stops all', async (t) => {
    const { dir, cleanup } = await tempDir('si-workers-');
    t.after(cleanup);
    const backends = await Promise.all(['a1', 'a2', 'a3', 'b'].map((n) => startNamedBackend(n)));
    t.after(() => Promise.all(backends.map((b) => b.close())));
    const [a1, a2, a3, b] = backends as [
      (typeof backends)[0],
      (typeof backends)[0],
      (typeof backends)[0],
      (typeof backends)[0],
    ];
    const annotations = { 'nginx.ingress.kubernetes.io/affinity': 'cookie' };
    const file = join(dir, 'app.yaml');
    await writeFile(
      file,
      appManifests({ host: 'app.test', ports: [a1.port, a2.port, a3.port], annotations }),
    );
    // Round-robin scheduling (the primary hands connections out in turn) makes "both workers serve" certain;
    // the default shared handles leave the spread to the kernel.
    const { p, ports } = await startServe(
      ['--manifests', dir, '--workers', '2', '--shutdown-delay', '0ms', '--access-log', 'false'],
      { NODE_CLUSTER_SCHED_POLICY: 'rr' },
    );
    t.after(() => p.kill());
    const stats = async () =>
      JSON.parse((await httpGet(ports.admin, 'localhost', '/stats.json')).body) as Stats;

    await p.waitForRecord(
      (r) => r.msg === 'snapshot applied' && r.version === 1,
      'first snapshot on every worker',
    );
    assert.equal((await httpGet(ports.admin, 'localhost', '/readyz')).status, 200);
    const first = await httpGet(ports.http, 'app.test', '/');
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    assert.match(cookie, /^INGRESSCOOKIE=/);
    // Each request is a new connection, so round-robin alternates workers: both must honour the cookie.
    for (let i = 0; i < 10; i++) {
      const r = await httpGet(ports.http, 'app.test', '/', { cookie });
      assert.equal(r.body, first.body, `request ${i} with the cookie stays on ${first.body}`);
    }
    const s1 = await stats();
    assert.equal(s1.workers.length, 2);
    assert.equal(s1.totals.requests, 11, 'the merged totals count every request once');
    for (const w of s1.workers) assert.ok(w.requests >= 3, `worker ${w.pid} served ${w.requests} of 11`);
    const metrics = (await httpGet(ports.admin, 'localhost', '/metrics')).body;
    assert.match(metrics, /^sticky_ingress_requests_total\{[^}]*status_class="2xx"\} 11$/m);
    assert.match(metrics, /^sticky_ingress_config_snapshot_version 1$/m);

    await writeFile(file, appManifests({ host: 'app.test', ports: [b.port] }));
    await p.waitForRecord((r) => r.msg === 'snapshot applied' && r.version === 2, 'the edit on every worker');
    for (let i = 0; i < 4; i++) assert.equal((await httpGet(ports.http, 'app.test', '/')).body, 'b');
    assert.deepEqual(
      (await stats()).workers.map((w) => w.version),
      [2, 2],
    );

    const victim = s1.workers[0]!.pid;
    const from = p.records.length;
    process.kill(victim, 'SIGKILL');
    const died = await p.waitForRecord((r) => r.workerPid === victim && r.level === 50, 'death logged', from);
    assert.equal(died.signal, 'SIGKILL');
    const started = await p.waitForRecord((r) => r.msg === 'worker started', 'replacement forked', from);
    const replacement = Number(started.workerPid);
    await p.waitForRecord(
      (r) => r.pid === replacement && r.msg === 'dataplane listening',
      'replacement listening',
    );
    const s2 = await stats();
    assert.deepEqual(s2.workers.map((w) => w.pid).sort(), [s1.workers[1]!.pid, replacement].sort());
    assert.deepEqual(
      s2.workers.map((w) => w.version),
      [2, 2],
      'the replacement got the live snapshot before it listened',
    );
    assert.equal((await httpGet(ports.admin, 'localhost', '/readyz')).status, 200);
    for (let i = 0; i < 4; i++) assert.equal((await httpGet(ports.http, 'app.test', '/')).body, 'b');

    const pids = s2.workers.map((w) => w.pid);
    p.child.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    assert.ok(p.records.some((r) => r.msg === 'stopped'));
    for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} is gone`);
  });

  test('a bad --workers value: exit 2 naming the flag and the form', async () => {
    const { runCli } = await import('./helpers.ts');
    const r = await runCli(['serve', '--manifests', '.', '--workers', 'many']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid --workers "many": expected COUNT\|auto/);
  });
});
