import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { HashPart } from '../../../src/snapshot/index.ts';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/** One GET from source address `from` (any 127/8 address works on loopback); resolves to the backend id. */
function get(port: number, from: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        localAddress: from,
        agent: false,
        headers: { host: 'app.test', ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.headers['x-backend-id'])));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('source and key hashing through the dataplane', () => {
  let backends: TestBackend[];
  let t: TestDataplane | undefined;

  beforeEach(async () => {
    backends = await startBackends(4);
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await closeAll(backends);
  });

  async function start(hashBy: HashPart[]): Promise<TestDataplane> {
    t = await startDataplane();
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'app.test', routes: [{ backend: 'web' }] }],
        backends: [{ id: 'web', endpoints: backends.map((b) => b.port), hashBy }],
      }),
    );
    return t;
  }

  test('source-ip: each client address keeps one backend; different addresses spread over them', async () => {
    const { dp } = await start([{ kind: 'remote-addr' }]);
    const first = new Map<string, string>();
    for (let n = 1; n <= 24; n++) first.set(`127.0.0.${n}`, await get(dp.ports.http, `127.0.0.${n}`));
    for (const [from, id] of first) {
      for (let i = 0; i < 3; i++) assert.equal(await get(dp.ports.http, from), id, from);
    }
    assert.ok(new Set(first.values()).size >= 3, `24 clients reached only ${[...first.values()]}`);
  });

  test('round-robin on the same backend moves a client between backends (the baseline the hash fixes)', async () => {
    t = await startDataplane();
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'app.test', routes: [{ backend: 'web' }] }],
        backends: [{ id: 'web', endpoints: backends.map((b) => b.port) }],
      }),
    );
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await get(t.dp.ports.http, '127.0.0.5'));
    assert.ok(seen.size > 1);
  });

  test('upstream-hash-by $http_x_tenant: a tenant keeps its backend whatever the client address', async () => {
    const { dp } = await start([
      { kind: 'literal', text: 't:' },
      { kind: 'header', name: 'x-tenant' },
    ]);
    const tenants = new Map<string, string>();
    for (let n = 0; n < 16; n++)
      tenants.set(`tenant-${n}`, await get(dp.ports.http, '127.0.0.1', { 'x-tenant': `tenant-${n}` }));
    for (const [tenant, id] of tenants) {
      assert.equal(await get(dp.ports.http, '127.0.0.9', { 'x-tenant': tenant }), id, tenant);
    }
    assert.ok(new Set(tenants.values()).size >= 2);
  });
});
