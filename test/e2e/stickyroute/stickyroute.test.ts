import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { cookiePair, get, waitForResponse } from '../framework/http.ts';
import { KubeApiError } from '../framework/kube.ts';
import type { Backend } from '../framework/netns.ts';
import { service, stickyRoute } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}
interface Route {
  metadata: { generation: number };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}
interface EventObj {
  reason: string;
  note: string;
  type: string;
  regarding: { kind: string; name: string; uid?: string };
  reportingController: string;
}

const API = 'sticky-ingress.dev/v1alpha1';

describe('StickyRoute: routing, affinity and status conditions', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  const backends: Backend[] = [];

  const route = (name: string) => env.admin.get<Route>(API, 'StickyRoute', ns, name);
  const conditionsOf = async (name: string) => {
    const r = await route(name);
    return Object.fromEntries((r.status?.conditions ?? []).map((c) => [c.type, c]));
  };
  const events = (name: string) =>
    env.admin
      .list<EventObj>('events.k8s.io/v1', 'Event', ns)
      .then((list) => list.filter((e) => e.regarding.kind === 'StickyRoute' && e.regarding.name === name));

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('sr');
    for (const id of ['game-0', 'game-1']) backends.push(await env.host().startBackend(id));
    await env.admin.apply(service(ns, 'game'));
    await env.endpoints(ns, 'game', backends);
    ctl = await env.controller();
  });

  after(async () => {
    await env?.close();
  });

  test('a valid StickyRoute routes with its cookie and reports Accepted, ResolvedRefs and Programmed', async () => {
    await env.admin.apply(
      stickyRoute(ns, 'game', {
        hosts: ['game.example.com'],
        routes: [
          {
            match: { path: '/' },
            backend: { service: { name: 'game', port: 80 } },
            affinity: { cookie: { name: 'GAME', maxAgeSeconds: 600 } },
          },
        ],
      }),
    );
    const first = await waitForResponse(ctl.http, 'game.example.com', '/', (r) => r.status === 200);
    const cookie = cookiePair(first, 'GAME');
    assert.ok(cookie, 'the StickyRoute cookie name is used');
    assert.match(first.setCookie.join('\n'), /Max-Age=600/);
    for (let i = 0; i < 4; i += 1) {
      assert.equal((await get(ctl.http, 'game.example.com', '/', { cookie })).backend, first.backend);
    }
    const generation = (await route('game')).metadata.generation;
    const conditions = await waitFor(
      async () => {
        const c = await conditionsOf('game');
        return c.Programmed?.status === 'True' ? c : undefined;
      },
      { description: 'conditions written' },
    );
    for (const type of ['Accepted', 'ResolvedRefs', 'Programmed']) {
      assert.equal(conditions[type]?.status, 'True', `${type} is True`);
      assert.equal(conditions[type]?.observedGeneration, generation);
    }
    assert.equal((await route('game')).status?.observedGeneration, generation);
  });

  test('a missing Service turns ResolvedRefs False with one Event, and True again once it exists', async () => {
    const spec = {
      hosts: ['lobby.example.com'],
      routes: [{ match: { path: '/' }, backend: { service: { name: 'lobby', port: 80 } } }],
    };
    await env.admin.apply(stickyRoute(ns, 'lobby', spec));
    const refs = await waitFor(
      async () => {
        const c = await conditionsOf('lobby');
        return c.ResolvedRefs?.status === 'False' ? c : undefined;
      },
      { description: 'ResolvedRefs False' },
    );
    assert.equal(refs.ResolvedRefs?.reason, 'ServiceNotFound');
    assert.equal(refs.Accepted?.status, 'True');
    const [event] = await waitFor(
      async () => ((await events('lobby')).length > 0 ? events('lobby') : undefined),
      {
        description: 'ServiceNotFound Event',
      },
    );
    assert.equal(event?.reason, 'ServiceNotFound');
    assert.equal(event?.type, 'Warning');
    assert.equal(event?.reportingController, 'sticky-ingress.dev/controller');
    assert.match(String(event?.note), /lobby/);
    assert.equal((await get(ctl.http, 'lobby.example.com', '/')).status, 503);

    // More rebuilds (another object changes) must not repeat the Event.
    await env.admin.apply(
      stickyRoute(ns, 'game', {
        ...spec,
        hosts: ['game2.example.com'],
        routes: [{ match: { path: '/' }, backend: { service: { name: 'game', port: 80 } } }],
      }),
    );
    await waitForResponse(ctl.http, 'game2.example.com', '/', (r) => r.status === 200);
    assert.equal((await events('lobby')).length, 1);

    const before = refs.ResolvedRefs?.lastTransitionTime;
    await env.admin.apply(service(ns, 'lobby'));
    await env.endpoints(ns, 'lobby', [backends[0] as Backend]);
    const fixed = await waitFor(
      async () => {
        const c = await conditionsOf('lobby');
        return c.ResolvedRefs?.status === 'True' ? c : undefined;
      },
      { description: 'ResolvedRefs True' },
    );
    assert.ok(String(fixed.ResolvedRefs?.lastTransitionTime) >= String(before));
    await waitForResponse(ctl.http, 'lobby.example.com', '/', (r) => r.backend === 'game-0');
  });

  test('a new generation is reflected in observedGeneration', async () => {
    const gen1 = (await route('lobby')).metadata.generation;
    await env.admin.apply(
      stickyRoute(ns, 'lobby', {
        hosts: ['lobby.example.com'],
        routes: [{ match: { path: '/v2' }, backend: { service: { name: 'lobby', port: 80 } } }],
      }),
    );
    const gen2 = (await route('lobby')).metadata.generation;
    assert.ok(gen2 > gen1);
    await waitFor(async () => (await route('lobby')).status?.observedGeneration === gen2, {
      description: 'observedGeneration follows',
    });
    await waitForResponse(ctl.http, 'lobby.example.com', '/', (r) => r.status === 404);
    assert.equal((await get(ctl.http, 'lobby.example.com', '/v2/x')).backend, 'game-0');
  });

  test("the CRD's schema rejects an invalid spec before the controller sees it", async () => {
    await assert.rejects(
      env.admin.apply(stickyRoute(ns, 'bad', { hosts: ['Not A Host'], routes: [] })),
      (err: unknown) => err instanceof KubeApiError && err.statusCode === 422,
    );
    assert.equal((await get(ctl.http, 'game2.example.com', '/')).status, 200);
  });
});
