import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { makeCert } from '../helpers/certs.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/** One TLS connection to 127.0.0.1:port: what the client saw (handshake error, resumption, the ticket). */
function handshake(
  port: number,
  opts: { ciphers?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3'; session?: Buffer; servername?: string } = {},
): Promise<{ ok: boolean; error?: string; reused: boolean; session?: Buffer; cipher?: string }> {
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    const socket: TLSSocket = connect({
      host: '127.0.0.1',
      port,
      servername: opts.servername ?? 'app.test',
      rejectUnauthorized: false,
      ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      ...(opts.session ? { session: opts.session } : {}),
    });
    socket.on('session', (s: Buffer) => {
      session = s;
    });
    socket.once('secureConnect', () => {
      const reused = socket.isSessionReused();
      const cipher = socket.getCipher().name;
      // A request and its answer: a TLS 1.3 ticket arrives after the handshake.
      socket.end('GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n');
      socket.resume();
      socket.once('close', () => resolve({ ok: true, reused, cipher, ...(session ? { session } : {}) }));
    });
    socket.once('error', (err) => resolve({ ok: false, error: err.message, reused: false }));
  });
}

const HOUR = 3_600_000;
const T0 = 1_000 * HOUR + 10 * 60_000; // 10 minutes into a window

describe('TLS policy: Mozilla intermediate ciphers, shared rotating session-ticket keys', () => {
  const started: TestDataplane[] = [];
  let a: TestDataplane;
  let b: TestDataplane;

  const start = async (opts: { key?: Buffer; now?: number } = {}) => {
    const t = await startDataplane({
      clock: () => opts.now ?? T0,
      ...(opts.key ? { affinityKey: opts.key } : {}),
    });
    started.push(t);
    return t;
  };

  before(async () => {
    a = await start();
    b = await start();
  });
  after(async () => {
    for (const t of started) await t.close();
  });

  test('a CBC-only TLS 1.2 client cannot connect (RSA and ECDSA certificates); an AES-GCM one can', async () => {
    const t = await start();
    const rsa = await makeCert(['rsa.test'], 'rsa', 'rsa');
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'rsa.test', tls: 'default/rsa', routes: [{ backend: 'web' }] }],
        backends: [{ id: 'web', endpoints: [1] }],
        certificates: [{ id: 'default/rsa', ...rsa }],
      }),
    );
    const port = t.dp.ports.https;
    const tls12 = { maxVersion: 'TLSv1.2' as const, servername: 'rsa.test' };
    const cbc = await handshake(port, { ...tls12, ciphers: 'ECDHE-RSA-AES128-SHA' });
    assert.equal(cbc.ok, false, `handshake succeeded with ${cbc.cipher}`);
    const cbc256 = await handshake(port, { ...tls12, ciphers: 'ECDHE-RSA-AES256-SHA384:AES128-SHA' });
    assert.equal(cbc256.ok, false, `handshake succeeded with ${cbc256.cipher}`);
    const gcm = await handshake(port, { ...tls12, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
    assert.equal(gcm.ok, true, gcm.error);
    assert.equal(gcm.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
    // The generated default certificate is ECDSA.
    const ecCbc = await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' });
    assert.equal(ecCbc.ok, false, `handshake succeeded with ${ecCbc.cipher}`);
    // TLS 1.1 is refused.
    assert.equal((await handshake(port, { maxVersion: 'TLSv1.1' as 'TLSv1.2' })).ok, false);
  });

  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    test(`${maxVersion}: a ticket issued by one instance resumes on another with the same key material`, async () => {
      const first = await handshake(a.dp.ports.https, { maxVersion });
      assert.ok(first.ok && first.session, first.error ?? 'no session ticket');
      assert.equal(first.reused, false);
      const other = await handshake(b.dp.ports.https, { maxVersion, session: first.session });
      assert.equal(other.reused, true, 'the other instance made a full handshake');
    });
  }

  test('an instance with other key material does not accept the ticket', async () => {
    const c = await start({ key: Buffer.from('another key of thirty-two bytes!') });
    const first = await handshake(a.dp.ports.https, { maxVersion: 'TLSv1.2' });
    assert.ok(first.session);
    assert.equal(
      (await handshake(c.dp.ports.https, { maxVersion: 'TLSv1.2', session: first.session })).reused,
      false,
    );
  });

  test('keys rotate: the next window has another key', async () => {
    const later = await start({ now: T0 + HOUR });
    const first = await handshake(a.dp.ports.https, { maxVersion: 'TLSv1.2' });
    assert.ok(first.session);
    const next = await handshake(later.dp.ports.https, { maxVersion: 'TLSv1.2', session: first.session });
    assert.equal(next.reused, false);
  });

  test('the key survives a default-certificate swap (setSecureContext draws random keys)', async () => {
    // apply() with a default certificate calls setSecureContext on the listener.
    const def = await makeCert(['fallback.test'], 'swapped');
    b.dp.apply(
      buildSnapshot({
        hosts: [],
        backends: [],
        certificates: [{ id: 'default/def', ...def }],
        defaultCertificate: 'default/def',
      }),
    );
    const first = await handshake(a.dp.ports.https, { maxVersion: 'TLSv1.2' });
    assert.ok(first.session);
    assert.equal(
      (await handshake(b.dp.ports.https, { maxVersion: 'TLSv1.2', session: first.session })).reused,
      true,
    );
  });
});
