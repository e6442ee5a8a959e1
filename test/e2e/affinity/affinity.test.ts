import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { cookiePair, get, type ProxyResponse, waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { ingress, service } from '../framework/objects.ts';

const BALANCED = 'balanced.example.com';
const PERSISTENT = 'persistent.example.com';

describe('cookie affinity from Ingress annotations', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  const backends: Backend[] = [];

  /** A first response from backend `id` (bounded number of new clients). */
  const firstFrom = async (host: string, id: string): Promise<ProxyResponse> => {
    for (let i = 0; i < 30; i += 1) {
      const r = await get(ctl.http, host, '/');
      if (r.backend === id) return r;
    }
    throw new Error(`no new client of ${host} landed on ${id} in 30 tries`);
  };

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('affinity');
    for (const id of ['aff-0', 'aff-1', 'aff-2']) backends.push(await env.host().startBackend(id));
    await env.admin.apply(service(ns, 'app'));
    await env.endpoints(ns, 'app', backends);
    await env.admin.apply(
      ingress(ns, 'balanced', [{ host: BALANCED, service: 'app' }], {
        annotations: {
          'sticky-ingress.dev/affinity': 'cookie',
          'sticky-ingress.dev/session-cookie-name': 'ROOM',
          'sticky-ingress.dev/session-cookie-max-age': '3600',
          'sticky-ingress.dev/session-cookie-samesite': 'Lax',
        },
      }),
    );
    await env.admin.apply(
      ingress(ns, 'persistent', [{ host: PERSISTENT, service: 'app' }], {
        annotations: {
          'nginx.ingress.kubernetes.io/affinity': 'cookie',
          'nginx.ingress.kubernetes.io/affinity-mode': 'persistent',
          'nginx.ingress.kubernetes.io/session-cookie-name': 'NGX',
        },
      }),
    );
    ctl = await env.controller();
    await waitForResponse(ctl.http, BALANCED, '/', (r) => r.status === 200);
    await waitForResponse(ctl.http, PERSISTENT, '/', (r) => r.status === 200);
  });

  after(async () => {
    await env?.close();
  });

  test('sticky-ingress.dev annotations set the cookie name and attributes', async () => {
    const r = await get(ctl.http, BALANCED, '/');
    const line = r.setCookie.find((c) => c.startsWith('ROOM='));
    assert.ok(line, `ROOM cookie in ${r.setCookie.join(' | ')}`);
    assert.match(line, /Max-Age=3600/);
    assert.match(line, /SameSite=Lax/);
    assert.match(line, /HttpOnly/);
    assert.match(line, /Path=\//);
    assert.doesNotMatch(line, /10\.213\./, 'the cookie never holds an address');
  });

  test('the nginx.ingress.kubernetes.io prefix is honoured', async () => {
    const r = await get(ctl.http, PERSISTENT, '/');
    assert.ok(cookiePair(r, 'NGX'), `NGX cookie in ${r.setCookie.join(' | ')}`);
  });

  test('a cookie pins every later request to one backend', async () => {
    for (const [host, name] of [
      [BALANCED, 'ROOM'],
      [PERSISTENT, 'NGX'],
    ] as const) {
      const first = await get(ctl.http, host, '/');
      const cookie = cookiePair(first, name);
      for (let i = 0; i < 6; i += 1) {
        const again = await get(ctl.http, host, '/', { cookie });
        assert.equal(again.backend, first.backend);
        assert.equal(again.setCookie.length, 0, 'no new cookie for a pinned client');
      }
    }
  });

  test('a terminating endpoint: balanced re-pins elsewhere, persistent keeps its sessions', async () => {
    const balanced = cookiePair(await firstFrom(BALANCED, 'aff-0'), 'ROOM');
    const persistent = cookiePair(await firstFrom(PERSISTENT, 'aff-0'), 'NGX');
    const [b0, b1, b2] = backends as [Backend, Backend, Backend];
    await env.endpoints(ns, 'app', [
      { backend: b0, conditions: { ready: false, serving: true, terminating: true } },
      b1,
      b2,
    ]);
    const moved = await waitForResponse(ctl.http, BALANCED, '/', (r) => r.backend !== 'aff-0', {
      cookie: String(balanced),
      description: 'balanced cookie re-pinned',
    });
    assert.ok(cookiePair(moved, 'ROOM'), 'a re-pinned client gets a new cookie');
    const kept = await get(ctl.http, PERSISTENT, '/', { cookie: String(persistent) });
    assert.equal(kept.backend, 'aff-0');
    for (let i = 0; i < 9; i += 1) {
      assert.notEqual(
        (await get(ctl.http, PERSISTENT, '/')).backend,
        'aff-0',
        'no new sessions on a terminating endpoint',
      );
    }
  });

  test('an endpoint that is gone re-pins even in persistent mode', async () => {
    const [, b1, b2] = backends as [Backend, Backend, Backend];
    const persistent = cookiePair(await firstFrom(PERSISTENT, 'aff-1'), 'NGX');
    await env.endpoints(ns, 'app', [b2]);
    const moved = await waitForResponse(ctl.http, PERSISTENT, '/', (r) => r.backend === 'aff-2', {
      cookie: String(persistent),
      description: 'persistent cookie re-pinned after removal',
    });
    assert.ok(cookiePair(moved, 'NGX'));
    await env.endpoints(ns, 'app', [b1, b2]);
  });
});
