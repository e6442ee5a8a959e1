/**
 * `sticky-ingress convert`: the golden Ingress fixtures are converted to Gateway + HTTPRoutes, both are built
 * by the same builder, and the dataplane's own decide() and balancer answer the same requests the same way on
 * both: same status, same redirect Location, same Service, same affinity cookie name, Path and lifetime.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from '../../src/controller/build/index.ts';
import { convertIngresses } from '../../src/controller/convert/ingress-to-gateway.ts';
import { decodeObject, type GatewayApiObject } from '../../src/controller/objects.ts';
import type { ClusterView } from '../../src/controller/view.ts';
import { compileSnapshot } from '../../src/dataplane/routing/compile.ts';
import { decide } from '../../src/dataplane/routing/decide.ts';
import { type BackendState, Upstreams } from '../../src/dataplane/upstream/upstreams.ts';
import { finalizeSnapshot } from '../../src/snapshot/index.ts';
import { BASE_OPTIONS, viewFromFile } from './golden-support.ts';

const CASES = join(import.meta.dirname, 'cases');
const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const CLASS = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'GatewayClass',
  metadata: { name: 'sticky' },
  spec: { controllerName: 'sticky-ingress.dev/controller' },
};

function dataplaneOf(view: ClusterView) {
  const result = build(view, { ...BASE_OPTIONS, allowLoopbackEndpoints: true });
  const snapshot = finalizeSnapshot(result.body, 1);
  const upstreams = new Upstreams({ affinityKey: KEY });
  upstreams.close(); // no health probes
  upstreams.update(snapshot.backends);
  return { snapshot, config: compileSnapshot(snapshot, (id) => upstreams.backend(id)) };
}

/** What a client sees of one request: status, Location, the Service reached, the affinity cookie minus its value. */
function seen(config: ReturnType<typeof dataplaneOf>['config'], host: string, path: string, secure: boolean) {
  const d = decide<BackendState>(config, {
    method: 'GET',
    target: path,
    host,
    secure,
    clientAddress: '192.0.2.1',
    upgrade: 'none',
    httpsPort: 443,
    draining: false,
    header: (name) => (name === 'host' ? host : undefined),
    roll: 0,
  });
  if (d.kind === 'local') return { status: d.status };
  if (d.kind === 'redirect') return { status: d.status, location: d.location };
  const service = d.backend.config.service;
  const setCookie = d.backend.pick(undefined, secure)?.setCookie;
  // Name, Path and lifetime are carried; Domain, SameSite, HttpOnly=false and Secure=always are listed as not.
  const cookie = setCookie && {
    name: setCookie.slice(0, setCookie.indexOf('=')),
    path: /; Path=([^;]*)/.exec(setCookie)?.[1],
    persistent: /; (Max-Age|Expires)=/.test(setCookie),
  };
  // The endpoints reached, not the port's spelling: a named port is written as its number.
  const endpoints = d.backend.config.endpoints.map((e) => e.id).join(',');
  return { status: 200, service: `${service.namespace}/${service.name}`, endpoints, cookie };
}

// The converted objects go through the same edge as the store's (objects.ts): a bad one fails the test.
function decoded(obj: Record<string, unknown>): GatewayApiObject {
  const d = decodeObject('Gateway', obj);
  if (!d.ok) throw new Error(d.diagnostic.message);
  return d.object;
}

const FIXTURES = [
  'affinity-cookie-attributes',
  'affinity-cookie-path-defaults-to-rule-path',
  'socket-io-path-with-cookie-affinity',
  'hsts-and-force-ssl-redirect',
  'tls-secret-serves-host',
  'exact-beats-prefix',
  'prefix-matches-by-path-element',
  'nginx-annotations-carry-over',
  'named-service-port-resolves-target-port',
];

for (const name of FIXTURES) {
  test(`converted ${name} behaves like the Ingress`, () => {
    const view = viewFromFile(join(CASES, name, 'input.yaml'));
    const { objects, notes } = convertIngresses(view.ingresses, { services: view.services });
    const kinds = (k: string) => objects.filter((o) => o.kind === k);
    const converted: ClusterView = {
      ...view,
      ingresses: [],
      gatewayClasses: [CLASS],
      gateways: kinds('Gateway').map(decoded),
      httpRoutes: kinds('HTTPRoute').map(decoded),
    };
    const before = dataplaneOf(view);
    const after = dataplaneOf(converted);
    let compared = 0;
    for (const vhost of before.snapshot.hosts) {
      const host = vhost.hostname.replace(/^\*$/, 'any.example').replace(/^\*\./, 'x.');
      for (const route of vhost.routes) {
        for (const path of [route.path, `${route.path.replace(/\/$/, '')}/more?q=1`]) {
          // A host without TLS has no HTTPS listener in Gateway API: served over HTTP only (listed in notes).
          for (const secure of vhost.tls ? [false, true] : [false]) {
            const a = seen(before.config, host, path, secure);
            const b = seen(after.config, host, path, secure);
            assert.deepEqual(
              b,
              a,
              `${secure ? 'https' : 'http'}://${host}${path} (notes: ${JSON.stringify(notes)})`,
            );
            compared++;
          }
        }
      }
    }
    assert.ok(compared >= 2, `compared ${compared} requests`);
  });
}

test('what cannot be carried is listed per object', () => {
  const view = viewFromFile(join(CASES, 'nginx-annotations-carry-over', 'input.yaml'));
  const { notes } = convertIngresses(view.ingresses);
  for (const n of notes) assert.match(n.object, /^Ingress [^/]+\/.+/);
  const all = notes.map((n) => n.message).join('\n');
  assert.match(all, /not carried/);
});
