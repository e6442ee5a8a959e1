import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import type { RequestRecord } from '../../../src/dataplane/observe/observer.ts';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

describe('observer records', () => {
  let backends: TestBackend[];
  let t: TestDataplane;
  const records: RequestRecord[] = [];
  let throwing = false;
  const events = new EventEmitter();

  before(async () => {
    backends = await startBackends(1);
    t = await startDataplane({
      observer: {
        onRequest: (r) => {
          records.push({ ...r });
          events.emit('record');
          if (throwing) throw new Error('observer bug');
        },
        onTunnelClose: () => {},
      },
    });
    t.dp.apply(
      buildSnapshot({
        hosts: [
          {
            hostname: 'obs.test',
            tls: true,
            routes: [{ path: '/api', backend: 'api', redirect: { sslRedirect: false } }],
          },
        ],
        backends: [{ id: 'api', endpoints: [(backends[0] as TestBackend).port], affinity: {} }],
      }),
    );
  });
  after(async () => {
    await t.close();
    await closeAll(backends);
  });

  test('one record per request with route, backend, endpoint, bytes, timings and TLS details', async () => {
    const recorded = once(events, 'record');
    const res = await request({
      port: t.dp.ports.https,
      secure: true,
      host: 'obs.test',
      method: 'POST',
      path: '/api/x?secret=1',
      body: 'hello',
    });
    assert.equal(res.status, 200);
    await recorded;
    const r = records.at(-1) as RequestRecord;
    assert.equal(r.host, 'obs.test');
    assert.equal(r.path, '/api/x');
    assert.equal(r.method, 'POST');
    assert.equal(r.status, 200);
    assert.equal(r.bytesIn, 5);
    assert.equal(r.bytesOut, Buffer.byteLength(res.body));
    assert.equal(r.backendId, 'api');
    assert.equal(r.endpointId, `127.0.0.1:${(backends[0] as TestBackend).port}`);
    assert.equal(r.affinity, 'new');
    assert.equal(r.sni, 'obs.test');
    assert.match(r.tlsVersion, /^TLSv1\.[23]$/);
    assert.equal(r.sourceName, 'ing-obs.test');
    assert.equal(r.clientAddress, '127.0.0.1');
    assert.ok(r.connectMs >= 0 && r.responseMs >= r.connectMs && r.totalMs >= r.responseMs);
    assert.equal(r.tunnel, false);
  });

  test('a 404 is recorded too, and an observer that throws never breaks traffic', async () => {
    throwing = true;
    const recorded = once(events, 'record');
    const res = await request({ port: t.dp.ports.http, host: 'obs.test', path: '/other' });
    assert.equal(res.status, 404);
    await recorded;
    assert.equal(records.at(-1)?.status, 404);
    assert.equal((await request({ port: t.dp.ports.http, host: 'obs.test', path: '/api' })).status, 200);
    throwing = false;
  });
});
