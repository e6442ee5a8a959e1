import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { finalizeSnapshot } from '../../../src/snapshot/index.ts';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { makeCert, type TestCert } from '../helpers/certs.ts';
import { json, peerCertificate, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot, type SnapshotSpec } from '../helpers/snapshot.ts';

describe('TLS termination and SNI', () => {
  let backends: TestBackend[];
  let t: TestDataplane;
  let exact: TestCert;
  let wild: TestCert;
  let fallback: TestCert;
  let version = 1;

  const spec = (certs: { exact: TestCert; wild: TestCert; def?: TestCert }): SnapshotSpec => ({
    hosts: [
      {
        hostname: 'exact.test',
        tls: 'default/exact',
        routes: [{ backend: 'web', hsts: { maxAgeSeconds: 600, includeSubdomains: true, preload: false } }],
      },
      { hostname: '*.wild.test', tls: 'default/wild', routes: [{ backend: 'web' }] },
    ],
    backends: [{ id: 'web', endpoints: [(backends[0] as TestBackend).port] }],
    certificates: [
      { id: 'default/exact', ...certs.exact },
      { id: 'default/wild', ...certs.wild },
      ...(certs.def ? [{ id: 'default/fallback', ...certs.def }] : []),
    ],
    ...(certs.def ? { defaultCertificate: 'default/fallback' } : {}),
  });

  before(async () => {
    backends = await startBackends(1);
    [exact, wild, fallback] = await Promise.all([
      makeCert(['exact.test'], 'exact-v1'),
      makeCert(['*.wild.test'], 'wild'),
      makeCert(['fallback.test'], 'fallback'),
    ]);
    t = await startDataplane();
    t.dp.apply(buildSnapshot(spec({ exact, wild }), version++));
  });
  after(async () => {
    await t.close();
    await closeAll(backends);
  });

  test('exact SNI, one-label wildcard, else the generated default; TLS 1.2+ and ALPN http/1.1', async () => {
    const port = t.dp.ports.https;
    const a = await peerCertificate(port, 'exact.test');
    assert.equal(a.cert.subject.CN, 'exact-v1');
    assert.equal(a.alpn, 'http/1.1');
    assert.match(a.protocol ?? '', /^TLSv1\.[23]$/);
    assert.equal((await peerCertificate(port, 'A.Wild.Test')).cert.subject.CN, 'wild');
    assert.equal(
      (await peerCertificate(port, 'a.b.wild.test')).cert.subject.CN,
      'sticky-ingress default certificate',
    );
    assert.equal(
      (await peerCertificate(port, undefined)).cert.subject.CN,
      'sticky-ingress default certificate',
    );
  });

  test('proxies over HTTPS with X-Forwarded-Proto https and the route HSTS header', async () => {
    const res = await request({ port: t.dp.ports.https, secure: true, host: 'exact.test', path: '/x' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['strict-transport-security'], 'max-age=600; includeSubDomains');
    assert.equal(json(res).headers['x-forwarded-proto'], 'https');
    const plain = await request({ port: t.dp.ports.https, secure: true, host: 'a.wild.test' });
    assert.equal(plain.headers['strict-transport-security'], undefined);
  });

  test('a renewed certificate and a snapshot default are served from the next handshake, no restart', async () => {
    const renewed = await makeCert(['exact.test'], 'exact-v2');
    assert.equal(t.dp.apply(buildSnapshot(spec({ exact: renewed, wild, def: fallback }), version++)), true);
    assert.equal((await peerCertificate(t.dp.ports.https, 'exact.test')).cert.subject.CN, 'exact-v2');
    assert.equal((await peerCertificate(t.dp.ports.https, 'other.test')).cert.subject.CN, 'fallback');
    assert.equal((await peerCertificate(t.dp.ports.https, undefined)).cert.subject.CN, 'fallback');
  });

  test('a mismatched pair or garbage PEM falls back to the default for that host only, with a log line', async () => {
    const other = await makeCert(['exact.test'], 'other');
    const broken = { certPem: exact.certPem, keyPem: other.keyPem };
    const garbageWild = { certPem: 'not a certificate', keyPem: wild.keyPem };
    const before = t.logs.length;
    assert.equal(
      t.dp.apply(buildSnapshot(spec({ exact: broken, wild: garbageWild, def: fallback }), version++)),
      true,
    );
    assert.equal((await peerCertificate(t.dp.ports.https, 'exact.test')).cert.subject.CN, 'fallback');
    assert.equal((await peerCertificate(t.dp.ports.https, 'a.wild.test')).cert.subject.CN, 'fallback');
    const errors = t.logs.slice(before).filter((l) => l.code === 'STICKY_ERR_TLS_BAD_CERTIFICATE');
    assert.deepEqual(errors.map((l) => l.certificate).sort(), ['default/exact', 'default/wild']);
    assert.match(String(errors[0]?.msg), /certificate default\/\w+ rejected/);
    // Still serving traffic on the host with the broken certificate.
    assert.equal((await request({ port: t.dp.ports.https, secure: true, host: 'exact.test' })).status, 200);
  });
});

test('a swap that changes only the Gateway listeners’ certificates serves the new one', async () => {
  const [one, two] = await Promise.all([makeCert(['*.l.test'], 'one'), makeCert(['*.l.test'], 'two')]);
  const t = await startDataplane();
  try {
    const first = buildSnapshot({
      hosts: [{ hostname: 'a.test', routes: [{ backend: 'a' }] }],
      backends: [{ id: 'a', endpoints: [1] }],
      certificates: [
        { id: 'ns/one', ...one! },
        { id: 'ns/two', ...two! },
      ],
    });
    const { version: _v, hash: _h, ...body } = first;
    const listening = (certificate: string, version: number) =>
      finalizeSnapshot({ ...body, listenerCertificates: [{ hostname: '*.l.test', certificate }] }, version);
    t.dp.apply(listening('ns/one', 2));
    const cn = async () => (await peerCertificate(t.dp.ports.https, 'y.l.test')).cert.subject.CN;
    assert.equal(await cn(), 'one');
    // The very same host, backend and certificate lists: only the listener moved to the other Secret.
    assert.equal(t.dp.apply(listening('ns/two', 3)), true);
    assert.equal(await cn(), 'two');
  } finally {
    await t.close();
  }
});
