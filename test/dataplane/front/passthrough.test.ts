import assert from 'node:assert/strict';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { PassthroughOutcome } from '../../../src/dataplane/front/passthrough.ts';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { makeCert } from '../helpers/certs.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/** A backend that terminates TLS itself with its own certificate (CN = its name) and answers its name. */
async function tlsBackend(name: string): Promise<{ server: HttpsServer; port: number }> {
  const cert = await makeCert(['pass.test'], name);
  const server = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

interface TlsAnswer {
  cn: string;
  body: string;
}

/** One HTTPS GET over a fresh connection (from `localAddress`); the certificate CN the client saw and the body. */
function tlsGet(
  port: number,
  servername: string | undefined,
  localAddress = '127.0.0.1',
): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    // tls.connect has no localAddress: open the TCP connection from that address first.
    const tcp = connect({ host: '127.0.0.1', port, localAddress });
    const socket = tlsConnect(
      { socket: tcp, rejectUnauthorized: false, ...(servername ? { servername } : {}) },
      () => socket.write(`GET / HTTP/1.1\r\nHost: ${servername ?? 'x'}\r\nConnection: close\r\n\r\n`),
    );
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      raw += d;
    });
    socket.once('end', () => {
      const cn = String(socket.getPeerCertificate().subject?.CN ?? '');
      resolve({ cn, body: raw.slice(raw.indexOf('\r\n\r\n') + 4) });
    });
    socket.once('error', reject);
  });
}

/**
 * A forwarder in front of `target` that re-frames the client's first TLS record (the ClientHello) as two records
 * and writes it one byte per TCP segment: a hello fragmented across records and segments.
 */
async function fragmenter(target: number): Promise<{ server: Server; port: number }> {
  const server = createServer((client: Socket) => {
    const up = connect(target, '127.0.0.1');
    let buffered = Buffer.alloc(0);
    let done = false;
    client.on('data', async (chunk: Buffer) => {
      if (done) return void up.write(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 5 || buffered.length < 5 + buffered.readUInt16BE(3)) return;
      done = true;
      const len = buffered.readUInt16BE(3);
      const payload = buffered.subarray(5, 5 + len);
      const half = Math.floor(len / 2);
      const record = (p: Buffer) =>
        Buffer.concat([Buffer.from([22, 3, 1, p.length >> 8, p.length & 255]), p]);
      const bytes = Buffer.concat([record(payload.subarray(0, half)), record(payload.subarray(half))]);
      for (const b of bytes) {
        up.write(Buffer.from([b]));
        await new Promise((r) => setImmediate(r));
      }
      up.write(buffered.subarray(5 + len));
    });
    up.pipe(client);
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Raw bytes in, everything received until close out. */
function raw(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('error', () => {});
    s.on('close', () => resolve(Buffer.concat(got)));
  });
}

describe('SSL passthrough', () => {
  const names = ['pt-a', 'pt-b', 'pt-c'];
  let tls: { server: HttpsServer; port: number }[];
  let plain: TestBackend[];
  let t: TestDataplane;
  let baseline: TestDataplane;
  let frag: { server: Server; port: number };
  const outcomes: PassthroughOutcome[] = [];
  const baselineOutcomes: PassthroughOutcome[] = [];

  before(async () => {
    tls = await Promise.all(names.map(tlsBackend));
    plain = await startBackends(1);
    const observer = (list: PassthroughOutcome[]) => ({
      onRequest: () => {},
      onTunnelClose: () => {},
      onPassthrough: (o: PassthroughOutcome) => list.push(o),
    });
    t = await startDataplane({ observer: observer(outcomes), requestHeaderTimeoutMs: 5_000 });
    baseline = await startDataplane({ observer: observer(baselineOutcomes) });
    const term = { hostname: 'term.test', tls: true as const, routes: [{ backend: 'web' }] };
    const web = { id: 'web', endpoints: [(plain[0] as TestBackend).port] };
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'pass.test', passthrough: 'tlsweb', routes: [{ backend: 'tlsweb' }] }, term],
        backends: [{ id: 'tlsweb', endpoints: tls.map((b) => b.port) }, web],
      }),
    );
    baseline.dp.apply(buildSnapshot({ hosts: [term], backends: [web] }));
    frag = await fragmenter(t.dp.ports.https);
  });
  after(async () => {
    await t.close();
    await baseline.close();
    await closeAll(plain);
    for (const s of [...tls.map((b) => b.server), frag.server]) await new Promise((r) => s.close(r));
  });

  test('a passthrough host reaches a backend that terminates TLS: its certificate reaches the client', async () => {
    const answer = await tlsGet(t.dp.ports.https, 'pass.test');
    assert.ok(names.includes(answer.cn), answer.cn);
    assert.equal(answer.body, answer.cn);
    // Other hosts are still terminated here, with the dataplane's certificate.
    const term = await tlsGet(t.dp.ports.https, 'term.test');
    assert.ok(!names.includes(term.cn));
    assert.match(term.body, /"id":"b0"/);
  });

  test('each client address sticks to one backend; addresses spread over them', async () => {
    const first = new Map<string, string>();
    for (let n = 1; n <= 12; n++) {
      const from = `127.0.0.${n}`;
      first.set(from, (await tlsGet(t.dp.ports.https, 'pass.test', from)).cn);
    }
    for (const [from, cn] of first) {
      for (let i = 0; i < 2; i++)
        assert.equal((await tlsGet(t.dp.ports.https, 'pass.test', from)).cn, cn, from);
    }
    assert.ok(new Set(first.values()).size >= 2, `12 sources all reached ${[...first.values()]}`);
  });

  test('a hello fragmented over two TLS records and one-byte segments is routed the same way', async () => {
    const direct = await tlsGet(t.dp.ports.https, 'pass.test');
    const fragmented = await tlsGet(frag.port, 'pass.test');
    assert.equal(fragmented.cn, direct.cn);
    assert.equal(fragmented.body, direct.cn);
    const term = await tlsGet(frag.port, 'term.test');
    assert.match(term.body, /"id":"b0"/);
  });

  test('no SNI and an unknown SNI are terminated as before; a malformed hello gets what it gets today', async () => {
    const none = await tlsGet(t.dp.ports.https, undefined);
    assert.ok(!names.includes(none.cn));
    const unknown = await tlsGet(t.dp.ports.https, 'other.test');
    assert.ok(!names.includes(unknown.cn));
    const malformed = [
      Buffer.from([22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0]),
      Buffer.from([22, 3, 1, 0x40, 0x01, 1]),
      Buffer.from('GET / HTTP/1.1\r\nHost: pass.test\r\n\r\n'),
    ];
    for (const bytes of malformed) {
      assert.deepEqual(await raw(t.dp.ports.https, bytes), await raw(baseline.dp.ports.https, bytes));
    }
  });

  test('without a passthrough host nothing is peeked: the terminating path is untouched', async () => {
    const before = baselineOutcomes.length;
    await tlsGet(baseline.dp.ports.https, 'term.test');
    assert.equal(baselineOutcomes.length, before);
    assert.ok(outcomes.includes('relayed') && outcomes.includes('terminated'));
  });
});
