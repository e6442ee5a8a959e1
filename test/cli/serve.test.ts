import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { LOOPBACK_PORT_0 } from '../serve-flags.ts';
import {
  appManifests,
  httpGet,
  runCli,
  startNamedBackend,
  startServe,
  tempDir,
  writeFile,
} from './helpers.ts';

describe('sticky-ingress serve --manifests', () => {
  test('serves the folder, hot-swaps edits, survives a broken file, drains on SIGTERM', async (t) => {
    const { dir, cleanup } = await tempDir('si-serve-');
    t.after(cleanup);
    const a = await startNamedBackend('backend-a');
    t.after(() => a.close());
    // Backend b holds /slow until released, to prove SIGTERM waits for in-flight requests.
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let slowArrived: () => void = () => {};
    const arrived = new Promise<void>((r) => {
      slowArrived = r;
    });
    const b = createServer((req, res) => {
      if (req.url !== '/slow') return res.end('backend-b');
      slowArrived();
      held.then(() => res.end('slow done'));
    });
    await new Promise<void>((r) => b.listen(0, '127.0.0.1', r));
    t.after(
      () =>
        new Promise<void>((r) => {
          b.close(() => r());
          b.closeAllConnections();
        }),
    );
    const bPort = (b.address() as AddressInfo).port;

    const file = join(dir, 'app.yaml');
    await writeFile(file, appManifests({ host: 'app.test', ports: [a.port] }));
    // The folder comes from the env var: env is honoured like the flag.
    const { p, ports } = await startServe(['--shutdown-delay', '1s', '--drain-timeout', '20s'], {
      STICKY_INGRESS_MANIFESTS: dir,
    });
    t.after(() => p.kill());

    await p.waitForRecord((r) => r.msg === 'snapshot applied' && r.version === 1, 'first snapshot');
    assert.equal((await httpGet(ports.admin, 'localhost', '/readyz')).status, 200);
    assert.equal((await httpGet(ports.http, 'app.test', '/')).body, 'backend-a');
    assert.equal((await httpGet(ports.http, 'nope.test', '/')).status, 404);
    // Wired observability: an access log line on stdout, controller and dataplane metrics on the admin port.
    await p.waitForRecord((r) => r.host === 'app.test' && r.status === 200, 'access log line');
    const metrics = await httpGet(ports.admin, 'localhost', '/metrics');
    assert.match(metrics.body, /^sticky_ingress_config_\w+ /m);
    assert.match(metrics.body, /backend="[^"]*app[^"]*"/);
    // A random affinity key is announced, since no --affinity-key-file was given.
    assert.ok(p.records.some((r) => r.level === 40 && /affinity cookies will not agree/.test(String(r.msg))));

    await writeFile(file, appManifests({ host: 'app.test', ports: [bPort] }));
    await p.waitForRecord((r) => r.msg === 'snapshot applied' && r.version === 2, 'second snapshot');
    assert.equal((await httpGet(ports.http, 'app.test', '/')).body, 'backend-b');

    const before = p.records.length;
    await writeFile(file, 'apiVersion: v1\nkind: [\n');
    const error = await p.waitForRecord(
      (r) => r.level === 50 && r.file === 'app.yaml',
      'parse error line',
      before,
    );
    assert.match(String(error.msg), /app\.yaml: invalid YAML .*keeping its last good objects/);
    assert.equal((await httpGet(ports.http, 'app.test', '/')).body, 'backend-b');
    assert.equal((await httpGet(ports.admin, 'localhost', '/readyz')).status, 200);

    const slow = httpGet(ports.http, 'app.test', '/slow');
    await arrived;
    p.child.kill('SIGTERM');
    await p.waitForRecord((r) => r.msg === 'shutting down: not ready', 'shutdown line');
    assert.equal((await httpGet(ports.admin, 'localhost', '/readyz')).status, 503);
    await p.waitForRecord((r) => r.msg === 'draining connections', 'drain line');
    release();
    assert.equal((await slow).body, 'slow done');
    assert.equal(await p.exited, 0);
    assert.ok(p.records.some((r) => r.msg === 'stopped'));
  });

  test('a missing manifest folder: exit 2 naming the flag', async () => {
    const r = await runCli(['serve', '--manifests', '/nonexistent/si-dir', ...LOOPBACK_PORT_0]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--manifests: cannot read manifest folder \/nonexistent\/si-dir/);
  });
});
