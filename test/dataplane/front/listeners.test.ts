import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Dataplane } from '../../../src/dataplane/dataplane.ts';
import { StickyError } from '../../../src/shared/errors.ts';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane, testDataplaneOptions } from '../helpers/dataplane.ts';
import { rawExchange } from '../helpers/raw.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

describe('listener hardening', () => {
  let backends: TestBackend[];
  let t: TestDataplane;

  before(async () => {
    backends = await startBackends(1);
    t = await startDataplane({ requestHeaderTimeoutMs: 300, maxHeaderSize: 4096 });
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'app.test', routes: [{ backend: 'web' }] }],
        backends: [{ id: 'web', endpoints: [(backends[0] as TestBackend).port] }],
      }),
    );
  });
  after(async () => {
    await t.close();
    await closeAll(backends);
  });

  test('a slow-header client is cut off with 408 while others are served', async () => {
    const slow = connect(t.dp.ports.http, '127.0.0.1');
    let answer = '';
    slow.setEncoding('utf8');
    slow.on('data', (d: string) => {
      answer += d;
    });
    const closed = new Promise<void>((resolve) => slow.once('close', () => resolve()));
    slow.on('error', () => {});
    slow.write('GET / HTTP/1.1\r\nHost: app.test\r\nX-Slow: ');
    // While the slow client dribbles, normal clients are served.
    const served = await request({ port: t.dp.ports.http, host: 'app.test' });
    assert.equal(served.status, 200);
    const drip = setInterval(() => slow.writable && slow.write('a'), 50);
    await closed;
    clearInterval(drip);
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.equal(
      (backends[0] as TestBackend).seen.some((r) => r.headers['x-slow'] !== undefined),
      false,
    );
  });

  test('Content-Length with Transfer-Encoding (request smuggling) is refused with 400', async () => {
    const before = (backends[0] as TestBackend).seen.length;
    const smuggle =
      'POST / HTTP/1.1\r\nHost: app.test\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '0\r\n\r\nGET /admin HTTP/1.1\r\nHost: app.test\r\n\r\n';
    const answer = await rawExchange(t.dp.ports.http, smuggle);
    assert.match(answer, /^HTTP\/1\.1 400/);
    assert.equal((backends[0] as TestBackend).seen.length, before);
  });

  test('headers beyond maxHeaderSize get 431', async () => {
    const answer = await rawExchange(
      t.dp.ports.http,
      `GET / HTTP/1.1\r\nHost: app.test\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 431/);
  });

  test('keep-alive: two requests on one connection are both proxied', async () => {
    const answer = await rawExchange(
      t.dp.ports.http,
      'GET /1 HTTP/1.1\r\nHost: app.test\r\n\r\nGET /2 HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n',
    );
    assert.equal(answer.match(/HTTP\/1\.1 200/g)?.length, 2);
    assert.match(answer, /"url":"\/2"/);
  });

  test('bad options are rejected by the constructor with a stable code', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['port out of range', { httpPort: 70000 }, 'STICKY_ERR_OPTION_INVALID'],
      ['short affinity key', { affinityKey: Buffer.alloc(4) }, 'STICKY_ERR_OPTION_INVALID'],
      ['bad CIDR', { trustedProxies: ['10.0.0.0/40'] }, 'STICKY_ERR_OPTION_CIDR'],
      ['bind address not an IP', { bindAddress: 'example.com' }, 'STICKY_ERR_OPTION_INVALID'],
    ];
    for (const [name, patch, code] of cases) {
      assert.throws(
        () => new Dataplane(testDataplaneOptions(patch as never)),
        (e: unknown) => e instanceof StickyError && e.code === code,
        name,
      );
    }
  });
});
