import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { closeAgents, get, peerCertificate, waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { certificate, ingress, service, tlsSecret } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

const HOST = 'secure.example.com';

describe('TLS from Secrets, rotation, and HTTP to HTTPS redirects', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  let backend: Backend;

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('tls');
    backend = await env.host().startBackend('secure-0');
    await env.admin.apply(service(ns, 'secure'));
    await env.endpoints(ns, 'secure', [backend]);
    // As the chart runs it: clients reach HTTPS on the Service's 443, whatever port the listener binds.
    ctl = await env.controller(undefined, ['--public-https-port', '443']);
  });

  after(async () => {
    await closeAgents();
    await env?.close();
  });

  test("the host is served with the Secret's certificate over HTTPS", async () => {
    const pem = await certificate([HOST], 'first');
    await env.admin.apply(tlsSecret(ns, 'secure-tls', pem));
    await env.admin.apply(
      ingress(ns, 'secure', [{ host: HOST, service: 'secure' }], {
        tls: [{ hosts: [HOST], secretName: 'secure-tls' }],
      }),
    );
    const r = await waitForResponse(ctl.https, HOST, '/hello', (x) => x.status === 200, { https: true });
    assert.equal(r.backend, 'secure-0');
    assert.equal(JSON.parse(r.text).forwardedProto, 'https');
    const cert = await peerCertificate(ctl.https, HOST);
    assert.match(cert.subject, /CN=first/);
  });

  test('updating the Secret serves the new certificate on the next handshake', async () => {
    const pem = await certificate([HOST], 'second');
    await env.admin.apply(tlsSecret(ns, 'secure-tls', pem));
    const cert = await waitFor(
      async () => {
        const c = await peerCertificate(ctl.https, HOST);
        return /CN=second/.test(c.subject) ? c : undefined;
      },
      { description: 'rotated certificate' },
    );
    assert.ok(cert.checkHost(HOST));
    assert.equal((await get(ctl.https, HOST, '/', { https: true })).status, 200);
  });

  test('an unclaimed SNI name gets the default certificate, not the Secret', async () => {
    const cert = await peerCertificate(ctl.https, 'unknown.example.com');
    assert.doesNotMatch(cert.subject, /CN=second/);
  });

  test('plain HTTP to a TLS host redirects to HTTPS with 308 by default', async () => {
    const r = await get(ctl.http, HOST, '/path?q=1');
    assert.equal(r.status, 308);
    // The browser follows the Location to the Service's 443, not to the listener's own port.
    assert.equal(r.headers.location, `https://${HOST}/path?q=1`);
  });

  test('ssl-redirect "false" serves plain HTTP; force-ssl-redirect redirects a host without TLS', async () => {
    await env.admin.apply(
      ingress(ns, 'secure', [{ host: HOST, service: 'secure' }], {
        tls: [{ hosts: [HOST], secretName: 'secure-tls' }],
        annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' },
      }),
    );
    const plain = await waitForResponse(ctl.http, HOST, '/', (x) => x.status === 200);
    assert.equal(plain.backend, 'secure-0');
    await env.admin.apply(
      ingress(ns, 'plain', [{ host: 'plain.example.com', service: 'secure' }], {
        annotations: { 'sticky-ingress.dev/force-ssl-redirect': 'true' },
      }),
    );
    const r = await waitForResponse(ctl.http, 'plain.example.com', '/x', (x) => x.status === 308);
    assert.equal(r.headers.location, 'https://plain.example.com/x');
  });

  test('a Secret that is not a valid certificate leaves the host on the default certificate and keeps serving', async () => {
    await env.admin.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'broken-tls', namespace: ns },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': Buffer.from('not a cert').toString('base64'),
        'tls.key': Buffer.from('nope').toString('base64'),
      },
    });
    await env.admin.apply(
      ingress(ns, 'broken', [{ host: 'broken.example.com', service: 'secure' }], {
        tls: [{ hosts: ['broken.example.com'], secretName: 'broken-tls' }],
      }),
    );
    await waitForResponse(ctl.https, 'broken.example.com', '/', (x) => x.status === 200, { https: true });
    const cert = await peerCertificate(ctl.https, 'broken.example.com');
    assert.doesNotMatch(cert.subject, /CN=second/);
    assert.match((await peerCertificate(ctl.https, HOST)).subject, /CN=second/);
  });
});
