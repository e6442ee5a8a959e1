import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { appManifests, httpGet, startNamedBackend, startServe, tempDir, writeFile } from './helpers.ts';

describe('sticky-ingress serve --metrics false', () => {
  for (const workers of ['1', '2']) {
    test(`--workers ${workers}: traffic and access log as usual, no /metrics or /stats`, async (t) => {
      const { dir, cleanup } = await tempDir('si-nometrics-');
      t.after(cleanup);
      const a = await startNamedBackend('backend-a');
      t.after(() => a.close());
      await writeFile(join(dir, 'app.yaml'), appManifests({ host: 'app.test', ports: [a.port] }));
      const { p, ports } = await startServe([
        '--manifests',
        dir,
        '--metrics',
        'false',
        '--workers',
        workers,
        '--shutdown-delay',
        '0ms',
      ]);
      t.after(() => p.kill());
      await p.waitForRecord((r) => r.msg === 'snapshot applied' && r.version === 1, 'first snapshot');
      assert.equal((await httpGet(ports.admin, 'localhost', '/readyz')).status, 200);
      assert.equal((await httpGet(ports.http, 'app.test', '/')).body, 'backend-a');
      await p.waitForRecord((r) => r.log === 'access' && r.host === 'app.test', 'access log line');
      for (const path of ['/metrics', '/stats', '/stats.json']) {
        assert.equal((await httpGet(ports.admin, 'localhost', path)).status, 404, path);
      }
      p.child.kill('SIGTERM');
      assert.equal(await p.exited, 0);
    });
  }

  test('serve --help lists --workers and --metrics with their env vars and defaults', async () => {
    const { runCli } = await import('./helpers.ts');
    const r = await runCli(['serve', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--workers COUNT\|auto\n.*\(default 1\)\n\s+env STICKY_INGRESS_WORKERS/);
    assert.match(r.stdout, /--metrics true\|false\n.*\(default true\)\n\s+env STICKY_INGRESS_METRICS/);
  });
});
