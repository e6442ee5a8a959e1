import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { get, waitForResponse } from '../framework/http.ts';
import { installCrd } from '../framework/identity.ts';
import type { Backend } from '../framework/netns.ts';
import { endpointSlice, ingress, service, stickyRoute } from '../framework/objects.ts';

describe('StickyRoutes unavailable (CRD missing, RBAC forbidden): Ingresses keep working', () => {
  let env: E2eEnv;
  let ns: string;
  let backend: Backend;
  let noCrd: ControllerProcess;

  before(async () => {
    env = await startEnv({ crd: false });
    ns = await env.namespace('degraded');
    backend = await env.host().startBackend('deg-0');
    await env.admin.apply(service(ns, 'deg'));
    await env.admin.apply(endpointSlice(ns, 'deg', [backend]));
    await env.admin.apply(ingress(ns, 'deg', [{ host: 'deg.example.com', service: 'deg' }]));
  });

  after(async () => {
    await env?.close();
  });

  test('without the CRD the controller becomes ready, serves Ingresses and says why StickyRoutes are off', async () => {
    noCrd = await env.controller('no-crd');
    const r = await waitForResponse(noCrd.http, 'deg.example.com', '/', (x) => x.status === 200);
    assert.equal(r.backend, 'deg-0');
    const line = await noCrd.waitForLog((l) => String(l.msg).startsWith('StickyRoutes are off'), 'off line');
    assert.match(String(line.msg), /CRD/);
    assert.equal(line.status, 404);
  });

  test('once the CRD is installed, StickyRoutes are picked up without a restart', async () => {
    await installCrd(env.admin);
    await env.admin.apply(
      stickyRoute(ns, 'late', {
        hosts: ['late.example.com'],
        routes: [{ match: { path: '/' }, backend: { service: { name: 'deg', port: 80 } } }],
      }),
    );
    const r = await waitForResponse(noCrd.http, 'late.example.com', '/', (x) => x.status === 200, {
      timeoutMs: 60_000,
      description: 'StickyRoute served after the CRD appeared',
    });
    assert.equal(r.backend, 'deg-0');
    await noCrd.waitForLog(
      (l) => l.msg === 'informer recovered' && l.kind === 'StickyRoute',
      'recovered line',
    );
  });

  test('a ServiceAccount that may not read StickyRoutes still serves Ingresses and says why', async () => {
    const limited = await env.identityWith(
      'limited',
      (rule) => !(rule.apiGroups ?? []).includes('sticky-ingress.dev'),
    );
    const ctl = await env.controller('limited', [], { identity: limited });
    assert.equal((await get(ctl.http, 'deg.example.com', '/')).backend, 'deg-0');
    assert.equal((await get(ctl.http, 'late.example.com', '/')).status, 404);
    const line = await ctl.waitForLog((l) => String(l.msg).startsWith('StickyRoutes are off'), 'off line');
    assert.match(String(line.msg), /RBAC/);
    assert.equal(line.status, 403);
    assert.equal(ctl.process.child.exitCode, null);
  });
});
