/**
 * Gateway API HTTPRoute features seen by a real client through a real dataplane: the objects go through the
 * same builder as in cluster mode (YAML -> build -> snapshot), the backends are real servers on loopback.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startBackends, type TestBackend } from '../helpers/backends.ts';
import { makeCert } from '../helpers/certs.ts';
import { json, request } from '../helpers/client.ts';
import { dataplaneHooks, type TestDataplane } from '../helpers/dataplane.ts';
import { applyYaml } from '../helpers/manifests.ts';

const HOST = 'chat.example.com';

function serviceYaml(name: string, ports: number[]): string {
  const endpoints = ports.map(
    (p, i) =>
      `  - addresses: ["127.0.0.${i + 1}"]\n    conditions: {}\n    targetRef: { kind: Pod, namespace: default, name: ${name}-${p} }`,
  );
  // One slice per port: each endpoint listens on its own loopback port.
  return [
    `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: default }\nspec:\n  ports: [{ name: http, port: 80 }]`,
    ...ports.map(
      (p, i) =>
        `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: ${name}-${i}\n  namespace: default\n  labels: { kubernetes.io/service-name: ${name} }\naddressType: IPv4\nports: [{ name: http, port: ${p} }]\nendpoints:\n${endpoints[i]!.replace(`127.0.0.${i + 1}`, '127.0.0.1')}`,
    ),
  ].join('\n---\n');
}

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: sticky }
spec: { controllerName: sticky-ingress.dev/controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web, namespace: default }
spec:
  gatewayClassName: sticky
  listeners: [{ name: http, protocol: HTTP, port: 80, hostname: "*.example.com" }]
`;

function routeYaml(rules: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: chat, namespace: default }
spec:
  parentRefs: [{ name: web }]
  hostnames: ["${HOST}"]
  rules:
${rules}`;
}

describe('HTTPRoute through the dataplane', () => {
  let backends: TestBackend[];
  let t: TestDataplane;
  dataplaneHooks(
    () => startBackends(3),
    (b, d) => ([backends, t] = [b, d]),
  );

  function apply(rules: string): void {
    const [b0, b1, b2] = backends as [TestBackend, TestBackend, TestBackend];
    const yaml = [
      GATEWAY,
      routeYaml(rules),
      serviceYaml('chat', [b0.port, b1.port]),
      serviceYaml('canary', [b2.port]),
    ].join('\n---\n');
    applyYaml(t.dp, yaml, { allowed: ['BackendNotFound'] });
  }

  const port = () => t.dp.ports.http;

  test('header, query and method matches win over a plain prefix; filters edit headers and rewrite the path', async () => {
    apply(`    - matches: [{ path: { type: PathPrefix, value: / } }]
      backendRefs: [{ name: canary, port: 80 }]
    - matches:
        - path: { type: PathPrefix, value: /api }
          method: POST
          headers: [{ name: X-Version, value: "2" }]
          queryParams: [{ name: beta, value: "on" }]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{ name: X-Gateway, value: sticky }]
            add: [{ name: X-Trace, value: "2" }]
            remove: [X-Debug]
        - type: ResponseHeaderModifier
          responseHeaderModifier: { set: [{ name: Cache-Control, value: no-store }], remove: [X-Backend-Id] }
        - type: URLRewrite
          urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 } }
      backendRefs: [{ name: chat, port: 80 }]
`);
    const matched = await request({
      port: port(),
      host: HOST,
      method: 'POST',
      path: '/api/items?beta=on',
      headers: { 'x-version': '2', 'x-debug': 'secret', 'x-trace': '1' },
    });
    assert.equal(matched.status, 200);
    const seen = json(matched);
    assert.notEqual(seen.id, 'b2');
    assert.equal(seen.url, '/v2/items?beta=on');
    assert.equal(seen.headers['x-gateway'], 'sticky');
    assert.equal(seen.headers['x-trace'], '1,2');
    assert.equal(seen.headers['x-debug'], undefined);
    assert.equal(matched.headers['cache-control'], 'no-store');
    assert.equal(matched.headers['x-backend-id'], undefined);
    // Each missing condition falls through to the `/` rule, untouched.
    for (const miss of [
      { method: 'GET', path: '/api/items?beta=on', headers: { 'x-version': '2' } },
      { method: 'POST', path: '/api/items?beta=off', headers: { 'x-version': '2' } },
      { method: 'POST', path: '/api/items?beta=on', headers: { 'x-version': '3' } },
    ]) {
      const res = await request({ port: port(), host: HOST, ...miss });
      assert.equal(json(res).id, 'b2', JSON.stringify(miss));
      assert.equal(json(res).url, miss.path);
      assert.equal(res.headers['cache-control'], undefined);
    }
  });

  test('RequestRedirect answers with the Location the spec derives; no backend is contacted', async () => {
    apply(`    - matches: [{ path: { type: Exact, value: /old } }]
      filters:
        - type: RequestRedirect
          requestRedirect: { scheme: https, statusCode: 301, path: { type: ReplaceFullPath, replaceFullPath: /new } }
    - matches: [{ path: { type: PathPrefix, value: /moved } }]
      filters:
        - type: RequestRedirect
          requestRedirect: { hostname: other.example.com, port: 8443, path: { type: ReplacePrefixMatch, replacePrefixMatch: /here } }
`);
    const before = backends.reduce((n, b) => n + b.seen.length, 0);
    const a = await request({ port: port(), host: `${HOST}:8080`, path: '/old?x=1' });
    assert.equal(a.status, 301);
    assert.equal(a.headers.location, `https://${HOST}/new?x=1`);
    const b = await request({ port: port(), host: HOST, path: '/moved/a/b' });
    assert.equal(b.status, 302);
    assert.equal(b.headers.location, 'http://other.example.com:8443/here/a/b');
    assert.equal(
      backends.reduce((n, x) => n + x.seen.length, 0),
      before,
    );
  });

  test('weighted backendRefs split requests by weight; weight 0 gets none; an unresolved share gets 500', async () => {
    apply(`    - matches: [{ path: { type: PathPrefix, value: /split } }]
      backendRefs: [{ name: chat, port: 80, weight: 1 }, { name: canary, port: 80, weight: 1 }]
    - matches: [{ path: { type: PathPrefix, value: /zero } }]
      backendRefs: [{ name: chat, port: 80, weight: 0 }, { name: canary, port: 80, weight: 5 }]
    - matches: [{ path: { type: PathPrefix, value: /broken } }]
      backendRefs: [{ name: missing, port: 80 }]
`);
    const count = async (path: string) => {
      const ids = new Map<string, number>();
      for (let i = 0; i < 60; i++) {
        const id = json(await request({ port: port(), host: HOST, path })).id;
        ids.set(id, (ids.get(id) ?? 0) + 1);
      }
      return ids;
    };
    const split = await count('/split');
    const toCanary = split.get('b2') ?? 0;
    // 60 fair coin flips: all on one side has probability 2^-59.
    assert.ok(toCanary > 0 && toCanary < 60, `canary got ${toCanary} of 60`);
    assert.deepEqual([...(await count('/zero')).keys()], ['b2']);
    assert.equal((await request({ port: port(), host: HOST, path: '/broken' })).status, 500);
  });

  test('sessionPersistence (released v1.7 shape) pins a client to one endpoint with the configured cookie', async () => {
    apply(`    - matches: [{ path: { type: PathPrefix, value: /session } }]
      sessionPersistence: { type: Cookie, absoluteTimeout: 1h, cookie: { name: sess, path: /session, lifetimeType: Permanent } }
      backendRefs: [{ name: chat, port: 80 }]
`);
    const first = await request({ port: port(), host: HOST, path: '/session/a' });
    const setCookie = String(first.headers['set-cookie']);
    assert.match(setCookie, /^sess=[^;]+; Path=\/session; Max-Age=3600/);
    const cookie = setCookie.split(';')[0]!;
    const pinned = json(first).id;
    for (let i = 0; i < 20; i++) {
      const res = await request({ port: port(), host: HOST, path: '/session/b', headers: { cookie } });
      assert.equal(json(res).id, pinned);
      assert.equal(res.headers['set-cookie'], undefined);
    }
  });

  test('with a weighted split, sessionPersistence wins: a pinned client stays on its backend', async () => {
    apply(`    - sessionPersistence: { type: Cookie, cookie: { name: pin } }
      backendRefs: [{ name: chat, port: 80, weight: 1 }, { name: canary, port: 80, weight: 1 }]
`);
    // Find one client pinned to each backend, then check every later request of each stays there.
    const pinned = new Map<string, string>();
    for (let i = 0; i < 60 && pinned.size < 2; i++) {
      const res = await request({ port: port(), host: HOST, path: '/' });
      const service = json(res).id === 'b2' ? 'canary' : 'chat';
      if (!pinned.has(service)) pinned.set(service, String(res.headers['set-cookie']).split(';')[0]!);
    }
    assert.equal(pinned.size, 2);
    for (const [service, cookie] of pinned) {
      for (let i = 0; i < 20; i++) {
        const res = await request({ port: port(), host: HOST, path: '/', headers: { cookie } });
        assert.equal(json(res).id === 'b2' ? 'canary' : 'chat', service);
        assert.equal(res.headers['set-cookie'], undefined);
      }
    }
  });

  test('sessionPersistence (v1.1-v1.6 shape: sessionName, cookieConfig) maps the same way', async () => {
    apply(`    - sessionPersistence: { sessionName: io, type: Cookie, cookieConfig: { lifetimeType: Session } }
      backendRefs: [{ name: chat, port: 80 }]
`);
    const first = await request({ port: port(), host: HOST, path: '/socket.io/?EIO=4&transport=polling' });
    const setCookie = String(first.headers['set-cookie']);
    assert.match(setCookie, /^io=[^;]+; Path=\//);
    assert.doesNotMatch(setCookie, /Max-Age|Expires/);
    const cookie = setCookie.split(';')[0]!;
    for (let i = 0; i < 10; i++) {
      const res = await request({ port: port(), host: HOST, path: '/socket.io/?EIO=4', headers: { cookie } });
      assert.equal(json(res).id, json(first).id);
    }
  });

  test('a redirect route on the HTTP listener and a route on the HTTPS listener share host and path without a loop', async () => {
    const cert = await makeCert([HOST]);
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const [b0, b1, b2] = backends as [TestBackend, TestBackend, TestBackend];
    const yaml = [
      `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: sticky }
spec: { controllerName: sticky-ingress.dev/controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web, namespace: default }
spec:
  gatewayClassName: sticky
  listeners:
    - { name: http, protocol: HTTP, port: 80, hostname: ${HOST} }
    - { name: https, protocol: HTTPS, port: 443, hostname: ${HOST}, tls: { certificateRefs: [{ name: tls }] } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: to-https, namespace: default }
spec:
  parentRefs: [{ name: web, sectionName: http }]
  rules: [{ filters: [{ type: RequestRedirect, requestRedirect: { scheme: https, statusCode: 301 } }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: app, namespace: default }
spec:
  parentRefs: [{ name: web, sectionName: https }]
  rules: [{ backendRefs: [{ name: canary, port: 80 }] }]
---
apiVersion: v1
kind: Secret
metadata: { name: tls, namespace: default }
type: kubernetes.io/tls
data: { tls.crt: ${b64(cert.certPem)}, tls.key: ${b64(cert.keyPem)} }`,
      serviceYaml('chat', [b0.port, b1.port]),
      serviceYaml('canary', [b2.port]),
    ].join('\n---\n');
    applyYaml(t.dp, yaml, { exact: true });
    const plain = await request({ port: port(), host: HOST, path: '/a?b=1' });
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location, `https://${HOST}/a?b=1`);
    const secure = await request({ port: t.dp.ports.https, secure: true, host: HOST, path: '/a?b=1' });
    assert.equal(secure.status, 200);
    assert.equal(json(secure).id, 'b2');
  });
});
