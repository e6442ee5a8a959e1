import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { AdminServer } from '../../../src/admin/admin-server.ts';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { closed, echo, openWebSocket } from '../helpers/ws.ts';

describe('graceful shutdown', () => {
  let backend: TestBackend;
  let t: TestDataplane;
  let admin: AdminServer;
  let release: (() => void) | undefined;
  let arrived: (() => void) | undefined;
  const slowArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });

  before(async () => {
    backend = await startBackend('b0', (req, res) => {
      if (req.url !== '/slow') return false;
      release = () => res.end('slow done');
      arrived?.();
      return true;
    });
    t = await startDataplane();
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'app.test', routes: [{ backend: 'web' }] }],
        backends: [{ id: 'web', endpoints: [backend.port] }],
      }),
    );
    admin = new AdminServer({
      bindAddress: '127.0.0.1',
      port: 0,
      ready: () => !t.dp.draining,
      logger: pino({ level: 'silent' }),
    });
    await admin.start();
  });
  after(async () => {
    release?.();
    await t.dp.shutdown({ drainTimeoutMs: 10 });
    await admin.close();
    await closeAll([backend]);
  });

  test('admin: /healthz 200, /readyz 200 until draining, custom routes, 404 otherwise', async () => {
    admin.route('/stats', (_req, res) => {
      res.end('{"ok":true}');
    });
    assert.equal((await request({ port: admin.port, path: '/healthz' })).status, 200);
    assert.equal((await request({ port: admin.port, path: '/readyz' })).status, 200);
    assert.equal((await request({ port: admin.port, path: '/stats' })).body, '{"ok":true}');
    assert.equal((await request({ port: admin.port, path: '/nope' })).status, 404);
  });

  test('in-flight request finishes, new connections are refused, the tunnel is closed at the deadline', async () => {
    const port = t.dp.ports.http;
    const { ws } = await openWebSocket(`ws://127.0.0.1:${port}/`, 'app.test');
    assert.equal(await echo(ws, 'x'), 'b0:x');
    const wsClosed = closed(ws);
    const slow = request({ port, host: 'app.test', path: '/slow' });
    await slowArrived;

    const done = t.dp.shutdown({ drainTimeoutMs: 1_500 });
    assert.equal(t.dp.draining, true);
    assert.equal((await request({ port: admin.port, path: '/readyz' })).status, 503);
    await assert.rejects(request({ port, host: 'app.test' }), /ECONNREFUSED/);

    release?.();
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'slow done');
    assert.equal(res.headers.connection, 'close');
    // The tunnel outlives the last request (still echoing while draining), then the deadline closes it.
    assert.equal(await echo(ws, 'still'), 'b0:still');
    await Promise.all([wsClosed, done]);
    assert.ok(
      [...t.dp.upstreams.endpoints()].every((e) => e.active === 0),
      'request and tunnel released',
    );
    assert.equal((await request({ port: admin.port, path: '/healthz' })).status, 200);
  });
});
