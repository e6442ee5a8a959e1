import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { get, waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { ingress, service } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

const HOST = 'scale.example.com';

describe('EndpointSlices: scale up, scale down, terminating and unready endpoints', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  const backends: Backend[] = [];
  const sockets: WebSocket[] = [];
  /** Non-200 answers seen by `spread` (it runs inside waiters, which would swallow a thrown assertion). */
  let failures: string[] = [];

  /** Which backends answer `count` new clients (no cookies: plain round-robin). */
  const spread = async (count: number): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    for (let i = 0; i < count; i += 1) {
      const r = await get(ctl.http, HOST, '/');
      if (r.status !== 200) failures.push(`${r.status} ${r.text.slice(0, 80)}`);
      out.set(String(r.backend), (out.get(String(r.backend)) ?? 0) + 1);
    }
    return out;
  };
  const openSocket = async (): Promise<{ ws: WebSocket; id: string }> => {
    const ws = new WebSocket(`ws://${ctl.address}:${ctl.http}/ws`, { headers: { host: HOST } });
    sockets.push(ws);
    const [greeting] = await once(ws, 'message');
    return { ws, id: JSON.parse(String(greeting)).id as string };
  };
  const echo = async (ws: WebSocket, text: string) => {
    ws.send(text);
    const [data] = await once(ws, 'message');
    return String(data);
  };

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('ep');
    for (const id of ['ep-0', 'ep-1', 'ep-2']) backends.push(await env.host().startBackend(id));
    await env.admin.apply(service(ns, 'scale'));
    await env.endpoints(ns, 'scale', [backends[0] as Backend], 'scale-a');
    await env.admin.apply(ingress(ns, 'scale', [{ host: HOST, service: 'scale' }]));
    ctl = await env.controller();
    await waitForResponse(ctl.http, HOST, '/', (r) => r.status === 200);
  });

  after(async () => {
    for (const ws of sockets) ws.terminate();
    await env?.close();
  });

  test('a second EndpointSlice of the Service adds its endpoints (scale up)', async () => {
    failures = [];
    const [, b1, b2] = backends as [Backend, Backend, Backend];
    await env.endpoints(ns, 'scale', [b1, b2], 'scale-b');
    await waitFor(async () => (await spread(6)).size === 3, { description: 'three backends answering' });
    const counts = await spread(9);
    assert.deepEqual(
      [...counts.values()],
      [3, 3, 3],
      `round-robin evens out: ${JSON.stringify([...counts])}`,
    );
  });

  test('a terminating endpoint gets no new clients but its open WebSocket keeps working', async () => {
    let open: { ws: WebSocket; id: string } | undefined;
    for (let i = 0; i < 6 && open?.id !== 'ep-1'; i += 1) open = await openSocket();
    assert.equal(open?.id, 'ep-1');
    const [, b1, b2] = backends as [Backend, Backend, Backend];
    await env.endpoints(
      ns,
      'scale',
      [{ backend: b1, conditions: { ready: false, serving: true, terminating: true } }, b2],
      'scale-b',
    );
    await waitFor(async () => !(await spread(6)).has('ep-1'), { description: 'ep-1 out of rotation' });
    assert.equal(await echo(open.ws, 'still-there'), 'ep-1:still-there');
  });

  test('an unready (not serving) endpoint gets nothing', async () => {
    const [, b1, b2] = backends as [Backend, Backend, Backend];
    await env.endpoints(
      ns,
      'scale',
      [{ backend: b1, conditions: { ready: false, serving: false } }, b2],
      'scale-b',
    );
    await waitFor(async () => (await spread(4)).size === 2, { description: 'two backends' });
    assert.ok(!(await spread(8)).has('ep-1'));
  });

  test('deleting a slice scales down; traffic never fails while it happens', async () => {
    failures = [];
    await env.removeEndpoints(ns, 'scale-b');
    await waitFor(
      async () => {
        const counts = await spread(3);
        return counts.size === 1 && counts.has('ep-0');
      },
      { description: 'only ep-0 left' },
    );
    assert.deepEqual(failures, []);
  });

  test('an empty slice list answers 503, and traffic returns when endpoints come back', async () => {
    await env.removeEndpoints(ns, 'scale-a');
    await waitForResponse(ctl.http, HOST, '/', (r) => r.status === 503);
    await env.endpoints(ns, 'scale', [backends[2] as Backend], 'scale-c');
    const r = await waitForResponse(ctl.http, HOST, '/', (x) => x.status === 200);
    assert.equal(r.backend, 'ep-2');
  });
});
