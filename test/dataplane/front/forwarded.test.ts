import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

describe('X-Forwarded-* headers', () => {
  let backends: TestBackend[];
  let t: TestDataplane | undefined;

  beforeEach(async () => {
    backends = await startBackends(1);
  });
  afterEach(async () => {
    await t?.close();
    await closeAll(backends);
  });

  async function start(trustedProxies: string[]): Promise<TestDataplane> {
    t = await startDataplane({ trustedProxies });
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'app.test', routes: [{ backend: 'web' }] }],
        backends: [{ id: 'web', endpoints: [(backends[0] as TestBackend).port] }],
      }),
    );
    return t;
  }

  const spoofed = {
    'x-forwarded-for': '6.6.6.6',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'evil.test',
    'x-forwarded-port': '1',
    'x-real-ip': '6.6.6.6',
  };

  test('an untrusted peer cannot spoof them: every value is overwritten', async () => {
    const { dp } = await start([]);
    const seen = json(await request({ port: dp.ports.http, host: 'app.test', headers: spoofed })).headers;
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-real-ip'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], 'app.test');
    assert.equal(seen['x-forwarded-port'], String(dp.ports.http));
  });

  test('a peer in a trusted CIDR has its values kept and the chain extended', async () => {
    const { dp } = await start(['127.0.0.0/8', '::1/128']);
    const seen = json(await request({ port: dp.ports.http, host: 'app.test', headers: spoofed })).headers;
    assert.equal(seen['x-forwarded-for'], '6.6.6.6, 127.0.0.1');
    assert.equal(seen['x-real-ip'], '6.6.6.6');
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.equal(seen['x-forwarded-host'], 'evil.test');
  });
});
