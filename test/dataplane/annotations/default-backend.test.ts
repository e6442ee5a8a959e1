import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { type IngressSpec, ingressBuild, nginx } from './ingress-support.ts';

// Re-expressed from ingress-nginx test/e2e/annotations/default_backend.go ("should use a custom default
// backend as upstream" when the rule's Service has no endpoints) and its docs (unmatched paths of the host),
// black-box through the dataplane; hostile cases next to them.
describe('default-backend (ingress-nginx per-Ingress default backend)', () => {
  let api: TestBackend;
  let errors: TestBackend;
  let other: TestBackend;
  let t: TestDataplane;
  let version = 0;
  const ports = () => ({ api: api.port, errors: errors.port, other: other.port });
  const apply = (ingresses: IngressSpec[]) => {
    const result = ingressBuild(ingresses, ports(), ++version);
    t.dp.apply(result.snapshot);
    return result.diagnostics;
  };
  const hit = async (host: string, path: string) => {
    const res = await request({ port: t.dp.ports.http, host, path });
    return res.status === 200 ? String(res.headers['x-backend-id']) : res.status;
  };

  before(async () => {
    api = await startBackend('api');
    errors = await startBackend('errors');
    other = await startBackend('other');
    t = await startDataplane();
  });
  after(async () => {
    await t.close();
    await closeAll([api, errors, other]);
  });

  test('paths no rule matches on the Ingress host reach the default backend; matched paths do not', async () => {
    apply([
      {
        name: 'app',
        host: 'app.test',
        annotations: nginx({ 'default-backend': 'errors' }),
        paths: [{ path: '/api', service: 'api' }],
      },
    ]);
    assert.equal(await hit('app.test', '/api/users'), 'api');
    assert.equal(await hit('app.test', '/elsewhere'), 'errors');
    assert.equal(errors.seen.at(-1)?.url, '/elsewhere', 'the request as sent, to the default backend');
    assert.equal(await hit('unknown.test', '/elsewhere'), 404, 'never another host');
  });

  test('mirrors "should use a custom default backend as upstream": a Service without endpoints', async () => {
    const diagnostics = apply([
      {
        name: 'app',
        host: 'app.test',
        annotations: nginx({ 'default-backend': 'errors' }),
        paths: [{ path: '/api', service: 'gone' }],
      },
    ]);
    assert.equal(await hit('app.test', '/api/users'), 'errors');
    assert.ok(
      diagnostics.some((d) => d.reason === 'ServiceNotFound'),
      'the missing Service is still reported',
    );
    apply([{ name: 'app', host: 'app.test', paths: [{ path: '/api', service: 'gone' }] }]);
    assert.equal(await hit('app.test', '/api/users'), 503, 'without the annotation: 503');
  });

  test('hostile: the default backend never takes a path another Ingress serves on the same host', async () => {
    apply([
      {
        name: 'app',
        host: 'app.test',
        created: '2024-01-01T00:00:00Z',
        annotations: nginx({ 'default-backend': 'errors' }),
        paths: [{ path: '/api', service: 'api' }],
      },
      {
        name: 'site',
        host: 'app.test',
        created: '2025-01-01T00:00:00Z',
        paths: [{ path: '/', service: 'other' }],
      },
    ]);
    assert.equal(await hit('app.test', '/elsewhere'), 'other', "a younger Ingress's `/` still wins");
    assert.equal(await hit('app.test', '/api'), 'api');
  });

  test('hostile: another namespace cannot be named; an invalid name refuses the Ingress', async () => {
    const diagnostics = apply([
      {
        name: 'app',
        host: 'app.test',
        annotations: nginx({ 'default-backend': 'kube-system/dashboard' }),
        paths: [{ path: '/api', service: 'api' }],
      },
    ]);
    const error = diagnostics.find((d) => d.severity === 'Error');
    assert.equal(error?.reason, 'InvalidAnnotation', JSON.stringify(diagnostics));
    assert.equal(await hit('app.test', '/api'), 404, 'refused: not served at all');
  });

  test('a missing default-backend Service is a Warning and changes nothing', async () => {
    const diagnostics = apply([
      {
        name: 'app',
        host: 'app.test',
        annotations: nginx({ 'default-backend': 'nothere' }),
        paths: [{ path: '/api', service: 'api' }],
      },
    ]);
    assert.ok(diagnostics.some((d) => d.reason === 'DefaultBackendNotFound' && d.severity === 'Warning'));
    assert.equal(await hit('app.test', '/api'), 'api');
    assert.equal(await hit('app.test', '/elsewhere'), 404);
  });
});
