import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { makeCert, type TestCert } from '../helpers/certs.ts';
import { peerCertificate, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { type IngressSpec, ingressBuild, ingressSnapshot, nginx } from './ingress-support.ts';

function tlsSecret(name: string, namespace: string, pair: TestCert) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace },
    stringData: { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem },
  };
}

// Re-expressed from ingress-nginx test/e2e/annotations/alias.go, black-box through the dataplane, plus
// the second-tenant cases: an alias never takes a host some Ingress defines.
describe('server-alias (ingress-nginx alias annotation)', () => {
  let foo: TestBackend;
  let other: TestBackend;
  let t: TestDataplane;
  let version = 0;
  const ports = () => ({ foo: foo.port, other: other.port });
  const hit = async (host: string, path = '/') => {
    const res = await request({ port: t.dp.ports.http, host, path });
    return res.status === 200 ? String(res.headers['x-backend-id']) : res.status;
  };

  before(async () => {
    foo = await startBackend('foo');
    other = await startBackend('other');
    t = await startDataplane();
  });
  after(async () => {
    await t.close();
    await closeAll([foo, other]);
  });

  test("mirrors \"should return status code 200 for host 'foo' and 404 for 'bar'\" (no alias)", async () => {
    t.dp.apply(
      ingressSnapshot(
        [{ name: 'foo', host: 'foo', paths: [{ path: '/', service: 'foo' }] }],
        ports(),
        ++version,
      ),
    );
    assert.equal(await hit('foo'), 'foo');
    assert.equal(await hit('bar'), 404);
  });

  test("mirrors \"should return status code 200 for host 'foo' and 'bar'\"", async () => {
    const ing: IngressSpec = {
      name: 'foo',
      host: 'foo',
      annotations: nginx({ 'server-alias': 'bar' }),
      paths: [{ path: '/', service: 'foo' }],
    };
    t.dp.apply(ingressSnapshot([ing], ports(), ++version));
    assert.equal(await hit('foo'), 'foo');
    assert.equal(await hit('bar'), 'foo');
    assert.equal(await hit('BAR.'), 'foo', 'the alias matches like a host: case and trailing dot');
    assert.equal(await hit('baz'), 404);
  });

  test('mirrors "should return status code 200 for hosts defined in two ingresses, different path with one alias"', async () => {
    const snapshot = ingressSnapshot(
      [
        {
          name: 'foo',
          host: 'foo',
          annotations: nginx({ 'server-alias': 'bar, www.bar' }),
          paths: [{ path: '/', service: 'foo' }],
        },
        { name: 'foo-api', host: 'foo', paths: [{ path: '/api', service: 'other' }] },
      ],
      ports(),
      ++version,
    );
    t.dp.apply(snapshot);
    for (const host of ['foo', 'bar', 'www.bar']) {
      assert.equal(await hit(host, '/'), 'foo', host);
      assert.equal(
        await hit(host, '/api/x'),
        'other',
        `${host}: every route of the host, from either Ingress`,
      );
    }
    const bar = snapshot.hosts.find((h) => h.hostname === 'bar');
    assert.equal(bar?.aliasOf, 'foo');
  });

  test('TLS: the alias gets the host certificate when it covers the alias, else the default one; HTTP redirects like the host', async () => {
    const covering = await makeCert(['foo.example', '*.alias.example'], 'rule-cert');
    const ingresses: IngressSpec[] = [
      {
        name: 'foo',
        host: 'foo.example',
        tlsSecret: 'foo-tls',
        annotations: nginx({ 'server-alias': 'www.alias.example,not-covered.example' }),
        paths: [{ path: '/', service: 'foo' }],
      },
    ];
    t.dp.apply(ingressSnapshot(ingresses, ports(), ++version, [tlsSecret('foo-tls', 'default', covering)]));
    const https = t.dp.ports.https;
    assert.equal((await peerCertificate(https, 'foo.example')).cert.subject.CN, 'rule-cert');
    assert.equal((await peerCertificate(https, 'www.alias.example')).cert.subject.CN, 'rule-cert');
    const uncovered = await peerCertificate(https, 'not-covered.example');
    assert.notEqual(uncovered.cert.subject.CN, 'rule-cert', 'ingress-nginx: only a covering certificate');
    const secure = await request({ port: https, secure: true, host: 'www.alias.example', path: '/x' });
    assert.equal(secure.headers['x-backend-id'], 'foo');
    const plain = await request({ port: t.dp.ports.http, host: 'www.alias.example', path: '/x?q=1' });
    assert.equal(plain.status, 308, 'ssl-redirect applies to the alias as to its host');
    assert.equal(plain.headers.location, `https://www.alias.example:${https}/x?q=1`);
  });

  test("hostile: a second tenant cannot take another namespace's host through an alias; Warning names both", async () => {
    const ingresses: IngressSpec[] = [
      {
        name: 'victim',
        namespace: 'default',
        host: 'shop.example',
        created: '2025-06-01T00:00:00Z',
        paths: [{ path: '/', service: 'foo' }],
      },
      {
        // Older than the victim, so age cannot be what protects the victim's host.
        name: 'attacker',
        namespace: 'tenant-b',
        host: 'b.example',
        created: '2024-01-01T00:00:00Z',
        annotations: nginx({ 'server-alias': 'shop.example,b-alias.example' }),
        paths: [{ path: '/', service: 'other' }],
      },
    ];
    const { snapshot, diagnostics } = ingressBuild(ingresses, ports(), ++version);
    t.dp.apply(snapshot);
    // The attacker's Service lives in its own namespace (none here): its routes answer 503, never the victim's.
    assert.equal(await hit('shop.example'), 'foo');
    assert.equal(await hit('b-alias.example'), 503, 'its own alias serves its own (empty) backend');
    const warning = diagnostics.find((d) => d.reason === 'AliasConflict');
    assert.ok(warning, JSON.stringify(diagnostics));
    assert.equal(warning.severity, 'Warning');
    assert.deepEqual(warning.object, { kind: 'Ingress', namespace: 'tenant-b', name: 'attacker' });
    assert.match(warning.message, /shop\.example .*Ingress tenant-b\/attacker.*Ingress default\/victim/);
  });

  test('hostile: an alias colliding with a host of the same Ingress, or with an older alias, is dropped; wildcards refused', async () => {
    const ingresses: IngressSpec[] = [
      {
        name: 'first',
        host: 'one.example',
        created: '2024-01-01T00:00:00Z',
        annotations: nginx({ 'server-alias': 'shared.example, *.example, one.example' }),
        paths: [{ path: '/', service: 'foo' }],
      },
      {
        name: 'second',
        host: 'two.example',
        created: '2025-01-01T00:00:00Z',
        annotations: nginx({ 'server-alias': 'shared.example' }),
        paths: [{ path: '/', service: 'other' }],
      },
    ];
    const { snapshot, diagnostics } = ingressBuild(ingresses, ports(), ++version);
    t.dp.apply(snapshot);
    assert.equal(await hit('shared.example'), 'foo', 'the older alias keeps it');
    assert.equal(await hit('x.example'), 404, 'no wildcard alias');
    const reasons = diagnostics.map((d) => `${d.object.name} ${d.reason} ${d.message}`);
    assert.ok(
      reasons.some((r) => /^first InvalidAnnotation .*"\*\.example".*wildcard/.test(r)),
      reasons.join('\n'),
    );
    assert.ok(reasons.some((r) => /^first AliasConflict .*one\.example .*Ingress default\/first/.test(r)));
    assert.ok(
      reasons.some((r) =>
        /^second AliasConflict .*shared\.example.*already an alias of one\.example from Ingress default\/first/.test(
          r,
        ),
      ),
    );
    assert.ok(
      diagnostics.every((d) => d.severity !== 'Error'),
      'a dropped alias never refuses the Ingress',
    );
  });
});
