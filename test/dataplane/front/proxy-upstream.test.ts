import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { ProxyHeaderParser } from '../../../src/dataplane/front/proxy-header.ts';
import { encodeProxyHeader } from '../../../src/dataplane/front/proxy-header-out.ts';
import { makeCert } from '../helpers/certs.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

const SIG = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** What a backend read before the application bytes: one header, or 'none' (the stream started otherwise). */
type Seen =
  | 'none'
  | { version: 1 | 2; src: string; sport: number; dst: string; dport: number; authority?: string };

/**
 * The test's own reader of one PROXY header at the start of a connection (written from proxy-protocol.txt,
 * independent of the product's parser): the header and the bytes after it, or undefined until complete.
 */
function readOne(b: Buffer): { seen: Seen; rest: Buffer } | undefined {
  if (b.length < 6 && 'PROXY '.startsWith(b.toString('latin1'))) return undefined;
  if (b.subarray(0, 6).toString('latin1') === 'PROXY ') {
    const end = b.indexOf('\r\n');
    if (end === -1) return undefined;
    const [, , src = '', dst = '', sport = '', dport = ''] = b.toString('latin1', 0, end).split(' ');
    const seen = { version: 1 as const, src, dst, sport: Number(sport), dport: Number(dport) };
    return { seen, rest: b.subarray(end + 2) };
  }
  if (b.length < 16 && SIG.subarray(0, b.length).equals(b)) return undefined;
  if (!b.subarray(0, 12).equals(SIG)) return { seen: 'none', rest: b };
  const len = b.readUInt16BE(14);
  if (b.length < 16 + len) return undefined;
  assert.equal(b[12], 0x21, 'version 2, PROXY command');
  assert.equal(b[13], 0x11, 'AF_INET, STREAM');
  const p = b.subarray(16, 16 + len);
  const ip = (at: number) => [...p.subarray(at, at + 4)].join('.');
  const seen: Seen = {
    version: 2,
    src: ip(0),
    dst: ip(4),
    sport: p.readUInt16BE(8),
    dport: p.readUInt16BE(10),
  };
  for (let at = 12; at + 3 <= p.length; at += 3 + p.readUInt16BE(at + 1)) {
    if (p[at] === 0x02) seen.authority = p.toString('latin1', at + 3, at + 3 + p.readUInt16BE(at + 1));
  }
  return { seen, rest: b.subarray(16 + len) };
}

interface ProxyBackend {
  port: number;
  /** One entry per accepted connection, in order. */
  seen: Seen[];
  close(): Promise<void>;
}

/**
 * A backend that reads one PROXY header (if any) at the start of each connection, then hands the rest to
 * `inner`: an HTTPS server with its own certificate, or an HTTP server that echoes upgraded bytes.
 */
async function proxyBackend(
  inner: HttpServer | ReturnType<typeof createHttpsServer>,
  tls: boolean,
): Promise<ProxyBackend> {
  const seen: Seen[] = [];
  const server: Server = createServer((socket: Socket) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const got = readOne(buffered);
      if (got === undefined) return;
      socket.pause();
      socket.removeListener('data', onData);
      seen.push(got.seen);
      if (got.rest.length > 0) socket.unshift(got.rest);
      inner.emit('connection', socket);
      // TLS reads the unshifted bytes from the socket itself; the HTTP parser needs the flow restarted.
      if (!tls) socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        inner.closeAllConnections();
      }),
  };
}

/** An HTTP (or HTTPS) server whose upgrades answer 101 and then echo every byte. */
function echoUpgrades<S extends HttpServer | ReturnType<typeof createHttpsServer>>(server: S): S {
  server.on('upgrade', (_req, socket: Socket, head: Buffer) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  return server;
}

/** HTTPS GET through passthrough from `localAddress`: the client's local port, the backend's CN and body. */
function passthroughGet(
  port: number,
  servername: string,
  localAddress: string,
  preface?: string,
): Promise<{ localPort: number; cn: string; raw: string }> {
  return new Promise((resolve, reject) => {
    const tcp = connect({ host: '127.0.0.1', port, localAddress });
    if (preface !== undefined) tcp.write(preface);
    tcp.once('connect', () => {
      const localPort = tcp.localPort as number;
      let cn: string | undefined;
      const socket = tlsConnect({ socket: tcp, rejectUnauthorized: false, servername }, () => {
        cn = String(socket.getPeerCertificate().subject?.CN ?? '');
        // A PROXY-looking line as the first application bytes: only data to the backend (a bad request).
        socket.write('PROXY TCP4 6.6.6.6 6.6.6.6 1 1\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      let raw = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        raw += d;
      });
      socket.on('error', () => {});
      // The backend closes after its 400; without a handshake there is no certificate and nothing to show.
      socket.once('close', () =>
        cn === undefined ? reject(new Error('no TLS handshake')) : resolve({ localPort, cn, raw }),
      );
    });
  });
}

/** A raw WebSocket upgrade from `localAddress`; after the 101, `payload` is sent and its echo awaited. */
function tunnelEcho(
  port: number,
  localAddress: string,
  payload: string,
  host = 'ws.test:8080',
): Promise<{ localPort: number; echoed: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    let raw = '';
    let upgraded = -1;
    s.setEncoding('latin1');
    s.once('connect', () =>
      s.write(
        `GET /chat HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    s.on('data', (d: string) => {
      raw += d;
      if (upgraded === -1 && raw.includes('\r\n\r\n')) {
        assert.match(raw, /^HTTP\/1\.1 101 /);
        upgraded = raw.indexOf('\r\n\r\n') + 4;
        s.write(payload);
      }
      if (upgraded !== -1 && raw.length - upgraded >= payload.length) {
        const echoed = raw.slice(upgraded);
        const localPort = s.localPort as number;
        s.destroy();
        resolve({ localPort, echoed });
      }
    });
    s.once('error', reject);
  });
}

describe('PROXY protocol to backends', () => {
  let t: TestDataplane;
  let tlsBackend: ProxyBackend;
  let wsBackend: ProxyBackend;
  let wssBackend: ProxyBackend;

  before(async () => {
    const cert = await makeCert(['pass.test'], 'pt-backend');
    tlsBackend = await proxyBackend(
      createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('tls-backend')),
      true,
    );
    wsBackend = await proxyBackend(echoUpgrades(createHttpServer((_req, res) => res.end('plain'))), false);
    wssBackend = await proxyBackend(
      echoUpgrades(createHttpsServer({ cert: cert.certPem, key: cert.keyPem })),
      true,
    );
    t = await startDataplane({
      // The listener believes PROXY headers from 127.0.0.2 only; other sources are direct clients.
      proxyProtocol: { http: 'optional', https: 'optional' },
      proxyProtocolTrusted: ['127.0.0.2/32'],
    });
    t.dp.apply(
      buildSnapshot({
        hosts: [
          { hostname: 'pass.test', passthrough: 'tlsweb', routes: [{ backend: 'tlsweb' }] },
          { hostname: 'plain-pass.test', passthrough: 'nopp', routes: [{ backend: 'nopp' }] },
          { hostname: 'ws.test', routes: [{ backend: 'ws' }] },
          { hostname: 'wss.test', routes: [{ backend: 'wss' }] },
        ],
        backends: [
          { id: 'tlsweb', endpoints: [tlsBackend.port], proxyProtocol: 2 },
          { id: 'nopp', endpoints: [tlsBackend.port] },
          { id: 'ws', endpoints: [wsBackend.port], proxyProtocol: 1 },
          {
            id: 'wss',
            endpoints: [wssBackend.port],
            proxyProtocol: 2,
            tls: { verify: false, serverName: 'pass.test', sni: true },
          },
        ],
      }),
    );
  });
  after(async () => {
    await t.close();
    await tlsBackend.close();
    await wsBackend.close();
    await wssBackend.close();
  });

  test('passthrough v2: the backend reads the client and the SNI first, then terminates TLS itself', async () => {
    const before = tlsBackend.seen.length;
    const got = await passthroughGet(t.dp.ports.https, 'pass.test', '127.0.0.3');
    assert.equal(got.cn, 'pt-backend', 'the backend certificate reached the client');
    // The client's PROXY-looking line came inside TLS after ours: the backend's HTTP parser refused it.
    assert.match(got.raw, /^HTTP\/1\.1 400 /);
    assert.deepEqual(tlsBackend.seen.slice(before), [
      {
        version: 2,
        src: '127.0.0.3',
        sport: got.localPort,
        dst: '127.0.0.1',
        dport: t.dp.ports.https,
        authority: 'pass.test',
      },
    ]);
  });

  test('passthrough v2 behind a trusted PROXY sender: the backend reads the address our listener was given', async () => {
    const before = tlsBackend.seen.length;
    const got = await passthroughGet(
      t.dp.ports.https,
      'pass.test',
      '127.0.0.2',
      'PROXY TCP4 203.0.113.7 198.51.100.1 5555 443\r\n',
    );
    assert.equal(got.cn, 'pt-backend');
    assert.deepEqual(tlsBackend.seen.slice(before), [
      {
        version: 2,
        src: '203.0.113.7',
        sport: 5555,
        dst: '198.51.100.1',
        dport: 443,
        authority: 'pass.test',
      },
    ]);
  });

  test('an untrusted source that sends a PROXY line first is not believed and reaches no backend', async () => {
    const before = tlsBackend.seen.length;
    await assert.rejects(
      passthroughGet(t.dp.ports.https, 'pass.test', '127.0.0.3', 'PROXY TCP4 6.6.6.6 6.6.6.6 1 1\r\n'),
    );
    assert.equal(tlsBackend.seen.length, before);
  });

  test('a backend without the setting gets the raw ClientHello, no header', async () => {
    const before = tlsBackend.seen.length;
    const got = await passthroughGet(t.dp.ports.https, 'plain-pass.test', '127.0.0.3');
    assert.equal(got.cn, 'pt-backend');
    assert.deepEqual(tlsBackend.seen.slice(before), ['none']);
  });

  test('WebSocket tunnel v1: one header with the client, the client’s PROXY-looking bytes arrive as data', async () => {
    const before = wsBackend.seen.length;
    const fake = 'PROXY TCP4 6.6.6.6 6.6.6.6 1 1\r\n';
    const got = await tunnelEcho(t.dp.ports.http, '127.0.0.4', fake);
    assert.equal(got.echoed, fake);
    assert.deepEqual(wsBackend.seen.slice(before), [
      { version: 1, src: '127.0.0.4', sport: got.localPort, dst: '127.0.0.1', dport: t.dp.ports.http },
    ]);
  });

  test('WebSocket tunnel v2 to a TLS backend: the header goes before the ClientHello, Host as AUTHORITY', async () => {
    const before = wssBackend.seen.length;
    const got = await tunnelEcho(t.dp.ports.http, '127.0.0.4', 'hello', 'wss.test');
    assert.equal(got.echoed, 'hello');
    assert.deepEqual(wssBackend.seen.slice(before), [
      {
        version: 2,
        src: '127.0.0.4',
        sport: got.localPort,
        dst: '127.0.0.1',
        dport: t.dp.ports.http,
        authority: 'wss.test',
      },
    ]);
  });

  test('two tunnels from two clients: each upstream connection names its own client', async () => {
    const before = wsBackend.seen.length;
    const a = await tunnelEcho(t.dp.ports.http, '127.0.0.5', 'a');
    const b = await tunnelEcho(t.dp.ports.http, '127.0.0.6', 'b');
    const srcs = wsBackend.seen.slice(before).map((s) => (s === 'none' ? s : `${s.src}:${s.sport}`));
    assert.deepEqual(srcs, [`127.0.0.5:${a.localPort}`, `127.0.0.6:${b.localPort}`]);
  });
});

describe('PROXY header encoding', () => {
  const cases = [
    { version: 1 as const, src: '192.0.2.1', dst: '198.51.100.2' },
    { version: 2 as const, src: '192.0.2.1', dst: '198.51.100.2' },
    { version: 1 as const, src: '2001:db8::1', dst: '2001:db8:0:0:1::2' },
    { version: 2 as const, src: '2001:db8::1', dst: 'fe80::1:2:3:4' },
    // An IPv4 client on a dual-stack listener: node reports the mapped form; the header says IPv4.
    {
      version: 2 as const,
      src: '::ffff:192.0.2.1',
      dst: '::ffff:127.0.0.1',
      want: ['192.0.2.1', '127.0.0.1'],
    },
    // Mixed families: the IPv4 end is mapped, one header has one family.
    { version: 2 as const, src: '192.0.2.1', dst: '2001:db8::9', want: ['::ffff:192.0.2.1', '2001:db8::9'] },
  ];
  for (const c of cases) {
    test(`v${c.version} ${c.src} -> ${c.dst} reads back as sent`, () => {
      const bytes = encodeProxyHeader(
        c.version,
        { sourceAddress: c.src, sourcePort: 40000, destinationAddress: c.dst, destinationPort: 443 },
        'host.test',
      );
      const step = new ProxyHeaderParser().push(Buffer.concat([bytes, Buffer.from('rest')]));
      assert.equal(step.state, 'done');
      if (step.state !== 'done') return;
      const [src, dst] = c.want ?? [c.src, c.dst];
      assert.equal(step.header.sourceAddress, src);
      assert.equal(step.header.destinationAddress, dst);
      assert.equal(step.header.sourcePort, 40000);
      assert.equal(step.header.destinationPort, 443);
      assert.equal(step.rest.toString(), 'rest');
    });
  }

  test('unknown ends: v1 UNKNOWN and v2 LOCAL, which receivers answer with the real peer', () => {
    assert.equal(encodeProxyHeader(1, undefined).toString(), 'PROXY UNKNOWN\r\n');
    const v2 = new ProxyHeaderParser().push(encodeProxyHeader(2, undefined));
    assert.ok(v2.state === 'done' && v2.header.local);
  });
});
