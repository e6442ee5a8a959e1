import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { rawExchange } from '../helpers/raw.ts';
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

  test('Forwarded (RFC 7239) from an untrusted peer never reaches the backend, on HTTP or Upgrade', async () => {
    const { dp } = await start([]);
    const backend = backends[0] as TestBackend;
    // Raw bytes: two spellings and a second line, as an attacker would send them.
    const http = await rawExchange(
      dp.ports.http,
      'GET /x HTTP/1.1\r\nHost: app.test\r\nForwarded: for=1.2.3.4;proto=https\r\n' +
        'FORWARDED: for="[2001:db8::1]"\r\nConnection: close\r\n\r\n',
    );
    assert.match(http, /^HTTP\/1\.1 200 /);
    const upgrade = await rawExchange(
      dp.ports.http,
      'GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        'Forwarded: for=1.2.3.4\r\n\r\n',
      /\r\n\r\n/,
    );
    assert.match(upgrade, /^HTTP\/1\.1 101 /);
    assert.equal(backend.seen.length, 2);
    for (const seen of backend.seen) {
      assert.equal(seen.headers.forwarded, undefined, `${seen.url} got ${seen.headers.forwarded}`);
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    }
  });

  test('Forwarded from a trusted proxy is kept and extended with this hop', async () => {
    const { dp } = await start(['127.0.0.0/8', '::1/128']);
    const seen = json(
      await request({ port: dp.ports.http, host: 'app.test', headers: { forwarded: 'for=1.2.3.4' } }),
    ).headers;
    assert.equal(seen.forwarded, 'for=1.2.3.4, for=127.0.0.1;host=app.test;proto=http');
  });
});
