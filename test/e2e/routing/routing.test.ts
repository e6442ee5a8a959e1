import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { closeAgents, get, waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { ingress, service } from '../framework/objects.ts';

describe('Ingress routing through the controller to backends in network namespaces', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  const backends: Backend[] = [];

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('routing');
    for (const id of ['api-a', 'web-a']) backends.push(await env.host().startBackend(id));
    ctl = await env.controller();
  });

  after(async () => {
    await closeAgents();
    await env?.close();
  });

  test('an unknown host gets 404 before anything is configured', async () => {
    const r = await get(ctl.http, 'nothing.example.com', '/');
    assert.equal(r.status, 404);
  });

  test('host and path rules route to their Services', async () => {
    const [api, web] = backends as [Backend, Backend];
    await env.admin.apply(service(ns, 'api'));
    await env.admin.apply(service(ns, 'web'));
    await env.endpoints(ns, 'api', [api]);
    await env.endpoints(ns, 'web', [web]);
    await env.admin.apply(
      ingress(ns, 'site', [
        { host: 'site.example.com', path: '/api', service: 'api' },
        { host: 'site.example.com', path: '/', service: 'web' },
      ]),
    );
    const r = await waitForResponse(ctl.http, 'site.example.com', '/api/users', (x) => x.status === 200);
    assert.equal(r.backend, 'api-a');
    assert.equal(JSON.parse(r.text).url, '/api/users');
    const root = await get(ctl.http, 'site.example.com', '/index.html');
    assert.equal(root.backend, 'web-a');
    assert.equal((await get(ctl.http, 'other.example.com', '/')).status, 404);
  });

  test('an Ingress of another class is ignored', async () => {
    await env.admin.apply(
      ingress(ns, 'foreign', [{ host: 'foreign.example.com', service: 'web' }], { className: 'nginx' }),
    );
    // A change that the controller must serve, applied after the foreign one: once it is live, the foreign
    // Ingress has been seen too.
    await env.admin.apply(ingress(ns, 'marker', [{ host: 'marker.example.com', service: 'web' }]));
    await waitForResponse(ctl.http, 'marker.example.com', '/', (x) => x.status === 200);
    assert.equal((await get(ctl.http, 'foreign.example.com', '/')).status, 404);
  });

  test('changing the Ingress backend re-routes; deleting it stops routing', async () => {
    const spec = ingress(ns, 'site', [
      { host: 'site.example.com', path: '/api', service: 'web' },
      { host: 'site.example.com', path: '/', service: 'web' },
    ]);
    await env.admin.apply(spec);
    await waitForResponse(ctl.http, 'site.example.com', '/api/x', (x) => x.backend === 'web-a');
    await env.admin.delete('networking.k8s.io/v1', 'Ingress', ns, 'site');
    await waitForResponse(ctl.http, 'site.example.com', '/', (x) => x.status === 404);
  });

  test('a Service without endpoints answers 503 and recovers when an EndpointSlice appears', async () => {
    const [api] = backends as [Backend];
    await env.admin.apply(service(ns, 'lonely'));
    await env.admin.apply(ingress(ns, 'lonely', [{ host: 'lonely.example.com', service: 'lonely' }]));
    await waitForResponse(ctl.http, 'lonely.example.com', '/', (x) => x.status === 503);
    await env.endpoints(ns, 'lonely', [api]);
    const r = await waitForResponse(ctl.http, 'lonely.example.com', '/', (x) => x.status === 200);
    assert.equal(r.backend, 'api-a');
  });

  test('the controller logs no informer errors with the chart RBAC', async () => {
    await ctl.waitForLog((l) => l.msg === 'cluster controller ready', 'ready log line');
    const denied = ctl.logs().filter((l) => l.status === 403);
    assert.deepEqual(denied, []);
  });
});
