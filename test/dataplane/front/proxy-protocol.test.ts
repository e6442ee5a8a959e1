import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { ProxyOutcome } from '../../../src/dataplane/front/proxy-accept.ts';
import type { DataplaneObserver, RequestRecord } from '../../../src/dataplane/observe/observer.ts';
import type { AccessPolicy } from '../../../src/snapshot/index.ts';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const GET = 'GET /who HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n';

/** A PROXY v2 header for a TCP4 client, with `tlvBytes` of TLV payload (one TLV of type 0xE0). */
function v2(client: string, port: number, tlvBytes = 0, declared?: number): Buffer {
  const addr = Buffer.alloc(12);
  client.split('.').forEach((o, i) => {
    addr[i] = Number(o);
  });
  addr.set([10, 0, 0, 1], 4);
  addr.writeUInt16BE(port, 8);
  addr.writeUInt16BE(443, 10);
  const tlv = tlvBytes > 0 ? Buffer.alloc(3 + tlvBytes) : Buffer.alloc(0);
  if (tlvBytes > 0) {
    tlv[0] = 0xe0;
    tlv.writeUInt16BE(tlvBytes, 1);
  }
  const head = Buffer.alloc(4);
  head[0] = 0x21; // version 2, PROXY
  head[1] = 0x11; // AF_INET, STREAM
  head.writeUInt16BE(declared ?? addr.length + tlv.length, 2);
  return Buffer.concat([SIG, head, addr, tlv]);
}

/** Sends `chunks` from `localAddress` (each a separate write), collects everything until the server closes. */
function exchange(port: number, chunks: (string | Buffer)[], localAddress = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1', localAddress });
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      received += d;
    });
    socket.once('close', () => resolve(received));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' ? resolve(received) : reject(err),
    );
    socket.once('connect', async () => {
      for (const c of chunks) {
        socket.write(c);
        // A separate TCP segment each: the parser must cope with a header cut anywhere.
        await new Promise((r) => setImmediate(r));
      }
    });
  });
}

/** The X-Forwarded-For the backend saw, from the echo body of a raw exchange. */
function forwardedFor(raw: string): string {
  assert.match(raw, /^HTTP\/1\.1 200 /, raw.slice(0, 200));
  // The echo body may come chunked: the JSON object is between the first '{' and the last '}'.
  const body = raw.slice(raw.indexOf('{'), raw.lastIndexOf('}') + 1);
  return JSON.parse(body).headers['x-forwarded-for'];
}

describe('PROXY protocol on the listeners', () => {
  let backends: TestBackend[];
  let t: TestDataplane | undefined;
  let outcomes: ProxyOutcome[];
  let records: RequestRecord[];

  beforeEach(async () => {
    backends = await startBackends(1);
    outcomes = [];
    records = [];
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await closeAll(backends);
  });

  async function start(
    mode: 'strict' | 'optional',
    opts: { trusted?: string[]; access?: AccessPolicy; timeoutMs?: number } = {},
  ): Promise<TestDataplane> {
    const observer: DataplaneObserver = {
      onRequest: (r) => records.push(r),
      onTunnelClose: () => {},
      onProxyProtocol: (o) => outcomes.push(o),
    };
    t = await startDataplane({
      proxyProtocol: { http: mode, https: mode },
      proxyProtocolTrusted: opts.trusted ?? ['127.0.0.2/32'],
      requestHeaderTimeoutMs: opts.timeoutMs ?? 10_000,
      observer,
    });
    t.dp.apply(
      buildSnapshot({
        hosts: [
          {
            hostname: 'app.test',
            tls: true,
            routes: [
              {
                backend: 'web',
                redirect: { sslRedirect: false },
                ...(opts.access ? { access: opts.access } : {}),
              },
            ],
          },
        ],
        backends: [{ id: 'web', endpoints: [(backends[0] as TestBackend).port] }],
      }),
    );
    return t;
  }

  test('v1 from a trusted source: the carried client is X-Forwarded-For, X-Real-IP and the access log', async () => {
    const { dp } = await start('strict');
    const raw = await exchange(
      dp.ports.http,
      ['PROXY TCP4 203.0.113.7 10.0.0.1 5555 80\r\n', GET],
      '127.0.0.2',
    );
    assert.equal(forwardedFor(raw), '203.0.113.7');
    assert.equal((backends[0] as TestBackend).seen[0]?.headers['x-real-ip'], '203.0.113.7');
    assert.equal(records[0]?.clientAddress, '203.0.113.7');
    assert.deepEqual(outcomes, ['v1']);
  });

  test('v1 and v2 headers cut into single bytes still parse, with the request in the same segments', async () => {
    const { dp } = await start('strict');
    const line = Buffer.from(`PROXY TCP6 2001:db8::7 2001:db8::1 5555 80\r\n${GET}`);
    const bytes1 = [...line].map((b) => Buffer.from([b]));
    assert.equal(forwardedFor(await exchange(dp.ports.http, bytes1, '127.0.0.2')), '2001:db8::7');
    const bytes2 = [...Buffer.concat([v2('198.51.100.9', 4000), Buffer.from(GET)])].map((b) =>
      Buffer.from([b]),
    );
    assert.equal(forwardedFor(await exchange(dp.ports.http, bytes2, '127.0.0.2')), '198.51.100.9');
    assert.deepEqual(outcomes, ['v1', 'v2']);
  });

  test('v2 in front of TLS: the handshake and request complete and carry the client', async () => {
    const { dp } = await start('strict');
    const raw = await new Promise<string>((resolve, reject) => {
      const tcp = connect({ port: dp.ports.https, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => {
        tcp.write(v2('192.0.2.44', 1234, 40));
        const tls = tlsConnect({ socket: tcp, servername: 'app.test', rejectUnauthorized: false }, () =>
          tls.write(GET),
        );
        let received = '';
        tls.setEncoding('utf8');
        tls.on('data', (d: string) => {
          received += d;
        });
        tls.once('close', () => resolve(received));
        tls.once('error', reject);
      });
    });
    assert.equal(forwardedFor(raw), '192.0.2.44');
    assert.equal(records[0]?.clientAddress, '192.0.2.44');
  });

  test('route access (whitelist-source-range) judges the carried client, not the balancer', async () => {
    const { dp } = await start('strict', { access: { allow: ['203.0.113.0/24'], deny: [] } });
    const allowed = await exchange(
      dp.ports.http,
      ['PROXY TCP4 203.0.113.7 10.0.0.1 5555 80\r\n', GET],
      '127.0.0.2',
    );
    assert.match(allowed, /^HTTP\/1\.1 200 /);
    const denied = await exchange(
      dp.ports.http,
      ['PROXY TCP4 198.51.100.1 10.0.0.1 5555 80\r\n', GET],
      '127.0.0.2',
    );
    assert.match(denied, /^HTTP\/1\.1 403 /);
  });

  test('strict: a trusted source that sends no header is closed without an answer', async () => {
    const { dp } = await start('strict');
    assert.equal(await exchange(dp.ports.http, [GET], '127.0.0.2'), '');
    assert.equal((backends[0] as TestBackend).seen.length, 0);
    assert.deepEqual(outcomes, ['missing']);
  });

  test('optional: a trusted source without a header is served under its own address', async () => {
    const { dp } = await start('optional');
    assert.equal(forwardedFor(await exchange(dp.ports.http, [GET], '127.0.0.2')), '127.0.0.2');
    assert.deepEqual(outcomes, ['absent']);
  });

  test('an untrusted source cannot forge its address with a header: it is a bad request', async () => {
    const { dp } = await start('strict');
    const forged = await exchange(
      dp.ports.http,
      ['PROXY TCP4 1.2.3.4 10.0.0.1 5555 80\r\n', GET],
      '127.0.0.1',
    );
    assert.match(forged, /^HTTP\/1\.1 400 /);
    assert.equal((backends[0] as TestBackend).seen.length, 0);
    // Without a header it is a direct client, under its own address.
    assert.equal(forwardedFor(await exchange(dp.ports.http, [GET], '127.0.0.1')), '127.0.0.1');
    assert.deepEqual(outcomes, ['untrusted', 'untrusted']);
  });

  test('malformed and oversize headers are closed; a client on another connection is unaffected', async () => {
    const { dp } = await start('strict');
    const bad: (string | Buffer)[][] = [
      ['PROXY TCP4 999.1.1.1 10.0.0.1 5555 80\r\n', GET],
      ['PROXY TCP4 1.1.1.1 10.0.0.1 99999 80\r\n', GET],
      [`PROXY TCP4 ${'1'.repeat(120)}`],
      [v2('192.0.2.1', 1, 4000), GET],
      // A TLV claiming 10 bytes where the header's length leaves it 5.
      [v2('192.0.2.1', 1, 10, 12 + 3 + 5).subarray(0, 16 + 12 + 3 + 5), GET],
    ];
    // A legitimate client holds its connection open across all the bad ones.
    const good = connect({ port: dp.ports.http, host: '127.0.0.1', localAddress: '127.0.0.2' });
    await new Promise((r) => good.once('connect', r));
    good.write('PROXY TCP4 203.0.113.50 10.0.0.1 1 80\r\n');
    for (const [i, chunks] of bad.entries()) {
      assert.equal(await exchange(dp.ports.http, chunks, '127.0.0.2'), '', `bad header ${i}`);
    }
    const answer = new Promise<string>((resolve) => {
      let received = '';
      good.setEncoding('utf8');
      good.on('data', (d: string) => {
        received += d;
      });
      good.once('close', () => resolve(received));
    });
    good.write(GET);
    assert.equal(forwardedFor(await answer), '203.0.113.50');
    assert.deepEqual(outcomes, ['v1', 'malformed', 'malformed', 'oversize', 'oversize', 'malformed']);
  });

  test('a slow sender is closed at the header deadline while others are served', async () => {
    const { dp } = await start('strict', { timeoutMs: 300 });
    const slow = exchange(dp.ports.http, ['PROXY TCP4 203.0.113.'], '127.0.0.2');
    const fast = await exchange(
      dp.ports.http,
      ['PROXY TCP4 203.0.113.8 10.0.0.1 1 80\r\n', GET],
      '127.0.0.2',
    );
    assert.equal(forwardedFor(fast), '203.0.113.8');
    assert.equal(await slow, '');
    assert.deepEqual(outcomes, ['v1', 'timeout']);
  });
});
