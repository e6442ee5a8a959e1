/**
 * Gateway API hostnames and HTTPS listeners as a client sees them, through a real dataplane: the objects go
 * through the builder (YAML -> build -> snapshot) as in cluster mode, the backends are real servers on
 * loopback. The cases are the conformance suite's (v1.6.3 HTTPRouteListenerHostnameMatching,
 * HTTPRouteHostnameIntersection, HTTPRouteHTTPSListener), next to an Ingress whose wildcard keeps its meaning.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { describe, test } from 'node:test';
import { startBackends, type TestBackend } from '../helpers/backends.ts';
import { makeCert, type TestCert } from '../helpers/certs.ts';
import { json, peerCertificate, request } from '../helpers/client.ts';
import { dataplaneHooks, type TestDataplane } from '../helpers/dataplane.ts';
import { applyYaml } from '../helpers/manifests.ts';

function serviceYaml(name: string, port: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-0, namespace: default, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: ${port} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: {}, targetRef: { kind: Pod, namespace: default, name: ${name} } }]`;
}

function secretYaml(name: string, cert: TestCert): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: default }
type: kubernetes.io/tls
data: { tls.crt: ${b64(cert.certPem)}, tls.key: ${b64(cert.keyPem)} }`;
}

const CLASS = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: sticky }
spec: { controllerName: sticky-ingress.dev/controller }`;

// HTTPRouteListenerHostnameMatching's Gateway and routes (namespace default), plus an Ingress wildcard.
const HOSTNAME_MATCHING = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: matching, namespace: default }
spec:
  gatewayClassName: sticky
  listeners:
    - { name: listener-1, port: 80, protocol: HTTP, hostname: bar.com }
    - { name: listener-2, port: 80, protocol: HTTP, hostname: foo.bar.com }
    - { name: listener-3, port: 80, protocol: HTTP, hostname: "*.bar.com" }
    - { name: listener-4, port: 80, protocol: HTTP, hostname: "*.foo.com" }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: backend-v1, namespace: default }
spec:
  parentRefs: [{ name: matching, sectionName: listener-1 }]
  rules: [{ backendRefs: [{ name: v1, port: 80 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: backend-v2, namespace: default }
spec:
  parentRefs: [{ name: matching, sectionName: listener-2 }]
  rules: [{ backendRefs: [{ name: v2, port: 80 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: backend-v3, namespace: default }
spec:
  parentRefs: [{ name: matching, sectionName: listener-3 }, { name: matching, sectionName: listener-4 }]
  rules: [{ backendRefs: [{ name: v3, port: 80 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: anotherwildcard, namespace: default }
spec:
  parentRefs: [{ name: matching, sectionName: listener-3 }]
  hostnames: ["*.anotherwildcard.bar.com"]
  rules: [{ matches: [{ path: { type: PathPrefix, value: /s4 } }], backendRefs: [{ name: v1, port: 80 }] }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: one-label, namespace: default }
spec:
  ingressClassName: sticky
  rules:
    - host: "*.ingress.test"
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: v1, port: { number: 80 } } } }]`;

describe('Gateway API hostnames and HTTPS listeners through the dataplane', () => {
  let backends: TestBackend[];
  let t: TestDataplane;
  dataplaneHooks(
    () => startBackends(3),
    (b, d) => ([backends, t] = [b, d]),
  );

  function apply(...docs: string[]): void {
    const [b0, b1, b2] = backends as [TestBackend, TestBackend, TestBackend];
    const yaml = [
      CLASS,
      ...docs,
      serviceYaml('v1', b0.port),
      serviceYaml('v2', b1.port),
      serviceYaml('v3', b2.port),
    ];
    applyYaml(t.dp, yaml.join('\n---\n'));
  }

  /** The backend id (b0 = v1, b1 = v2, b2 = v3) a request reaches, or the status when it reaches none. */
  async function reached(host: string, path = '/'): Promise<string | number> {
    const res = await request({ port: t.dp.ports.http, host, path });
    return res.status === 200 ? json(res).id : res.status;
  }

  test('a wildcard listener serves names with several labels; the exact and the longest suffix win', async () => {
    apply(HOSTNAME_MATCHING);
    const expected: [string, string | number][] = [
      ['bar.com', 'b0'],
      ['foo.bar.com', 'b1'],
      ['baz.bar.com', 'b2'],
      ['boo.bar.com:1234', 'b2'],
      ['multiple.prefixes.bar.com', 'b2'],
      ['multiple.prefixes.foo.com', 'b2'],
      ['foo.com', 404],
      ['no.matching.host', 404],
    ];
    for (const [host, want] of expected) assert.equal(await reached(host), want, host);
    // A route's wildcard under the listener's is the more specific: it wins for its names, any depth.
    assert.equal(await reached('a.b.anotherwildcard.bar.com', '/s4'), 'b0');
    assert.equal(await reached('a.b.anotherwildcard.bar.com', '/other'), 404);
    assert.equal(await reached('anotherwildcard.bar.com', '/s4'), 'b2');
  });

  test('listener isolation: the most specific listener of a Gateway owns a host, route hostnames or not', async () => {
    const listeners = [
      'empty-hostname',
      'wildcard-example-com',
      'wildcard-foo-example-com',
      'abc-foo-example-com',
    ];
    const owner: Record<string, string> = {
      'bar.com': 'empty-hostname',
      'bar.example.com': 'wildcard-example-com',
      'bar.foo.example.com': 'wildcard-foo-example-com',
      'abc.foo.example.com': 'abc-foo-example-com',
    };
    // GatewayHTTPListenerIsolation's two halves: hostnames only on the listeners, then on the routes too.
    for (const routeHostnames of [
      '[]',
      '[bar.com, "*.example.com", "*.foo.example.com", abc.foo.example.com]',
    ]) {
      const routes = listeners.map(
        (l) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${l}, namespace: default }
spec:
  parentRefs: [{ name: isolation, sectionName: ${l} }]
  hostnames: ${routeHostnames}
  rules: [{ matches: [{ path: { type: PathPrefix, value: /${l} } }], backendRefs: [{ name: v1, port: 80 }] }]`,
      );
      apply(
        `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: isolation, namespace: default }
spec:
  gatewayClassName: sticky
  listeners:
    - { name: empty-hostname, port: 80, protocol: HTTP }
    - { name: wildcard-example-com, port: 80, protocol: HTTP, hostname: "*.example.com" }
    - { name: wildcard-foo-example-com, port: 80, protocol: HTTP, hostname: "*.foo.example.com" }
    - { name: abc-foo-example-com, port: 80, protocol: HTTP, hostname: abc.foo.example.com }`,
        ...routes,
      );
      for (const [host, l] of Object.entries(owner))
        for (const path of listeners)
          assert.equal(
            await reached(host, `/${path}`),
            path === l ? 'b0' : 404,
            `${routeHostnames} ${host}/${path}`,
          );
    }
  });

  test('an Ingress wildcard still covers exactly one label (kubernetes Ingress spec)', async () => {
    apply(HOSTNAME_MATCHING);
    assert.equal(await reached('a.ingress.test'), 'b0');
    assert.equal(await reached('a.b.ingress.test'), 404);
    assert.equal(await reached('ingress.test'), 404);
  });

  test('an HTTPS listener without hostname presents its certificate for a name no route serves, then 404', async () => {
    const listenerCert = await makeCert(['*.example.org', 'example.org'], 'listener-any');
    const wildcardCert = await makeCert(['*.wildcard.org'], 'listener-wildcard');
    apply(
      secretYaml('any-tls', listenerCert),
      secretYaml('wildcard-tls', wildcardCert),
      `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: https, namespace: default }
spec:
  gatewayClassName: sticky
  listeners:
    - { name: https, port: 443, protocol: HTTPS, tls: { certificateRefs: [{ name: any-tls }] } }
    - name: https-with-wildcard-hostname
      port: 443
      protocol: HTTPS
      hostname: "*.wildcard.org"
      tls: { certificateRefs: [{ name: wildcard-tls }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: https-test, namespace: default }
spec:
  parentRefs: [{ name: https, sectionName: https }]
  hostnames: [example.org]
  rules: [{ backendRefs: [{ name: v1, port: 80 }] }]`,
    );
    // Verified as the conformance suite's client does: the listener's certificate as the only trust anchor.
    const verified = (servername: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: t.dp.ports.https,
            path: '/',
            servername,
            headers: { host: servername },
            ca: listenerCert.certPem,
            agent: false,
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              body += c;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const routed = await verified('example.org');
    assert.equal(routed.status, 200);
    assert.equal((JSON.parse(routed.body) as { id: string }).id, 'b0');
    assert.equal((await verified('unknown.example.org')).status, 404);
    // The wildcard listener's certificate for its names, at any depth; the other names get the catch-all one.
    assert.equal(
      (await peerCertificate(t.dp.ports.https, 'a.wildcard.org')).cert.subject.CN,
      'listener-wildcard',
    );
    assert.equal(
      (await peerCertificate(t.dp.ports.https, 'a.b.wildcard.org')).cert.subject.CN,
      'listener-wildcard',
    );
    assert.equal((await peerCertificate(t.dp.ports.https, 'elsewhere.test')).cert.subject.CN, 'listener-any');
  });
});
