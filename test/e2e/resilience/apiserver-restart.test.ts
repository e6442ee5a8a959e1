import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { get, waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { endpointSlice, ingress, service } from '../framework/objects.ts';

const HOST = 'steady.example.com';

describe('kube-apiserver restarted mid-test', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  let backend: Backend;
  let ws: WebSocket | undefined;

  const echo = async (text: string) => {
    ws?.send(text);
    const [data] = await once(ws as WebSocket, 'message');
    return String(data);
  };

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('restart');
    backend = await env.host().startBackend('steady-0');
    await env.admin.apply(service(ns, 'steady'));
    await env.admin.apply(endpointSlice(ns, 'steady', [backend]));
    await env.admin.apply(ingress(ns, 'steady', [{ host: HOST, service: 'steady' }]));
    ctl = await env.controller();
    await waitForResponse(ctl.http, HOST, '/', (r) => r.status === 200);
    ws = new WebSocket(`ws://127.0.0.1:${ctl.http}/ws`, { headers: { host: HOST } });
    await once(ws, 'message');
  });

  after(async () => {
    ws?.terminate();
    await env?.close();
  });

  test('while the API server is down, traffic and open WebSockets keep flowing', async () => {
    await env.cluster.stopApiServer();
    // The controller's watches break now; it must keep the last snapshot (bounded: 20 requests).
    for (let i = 0; i < 20; i += 1) {
      const r = await get(ctl.http, HOST, `/while-down/${i}`);
      assert.equal(r.status, 200);
      assert.equal(r.backend, 'steady-0');
    }
    assert.equal(await echo('down'), 'steady-0:down');
    assert.equal(await ctl.admin200('/readyz'), true, 'still ready: it still serves the last snapshot');
    assert.equal(ctl.process.child.exitCode, null);
  });

  test('after the restart the controller resyncs and serves a change made after it', async () => {
    await env.cluster.startApiServer();
    await ctl.waitForLog((l) => l.msg === 'informer stopped; restarting with backoff', 'restart log line');
    await env.admin.apply(ingress(ns, 'fresh', [{ host: 'fresh.example.com', service: 'steady' }]));
    // Informers back off (at most 15 s between attempts) before they reconnect.
    const r = await waitForResponse(ctl.http, 'fresh.example.com', '/', (x) => x.status === 200, {
      timeoutMs: 60_000,
      description: 'change made after the restart',
    });
    assert.equal(r.backend, 'steady-0');
    assert.equal(await echo('up'), 'steady-0:up');
    assert.equal((await get(ctl.http, HOST, '/')).status, 200);
  });

  test('a deletion made after the restart is seen too (the store relisted or rewatched correctly)', async () => {
    await env.admin.delete('networking.k8s.io/v1', 'Ingress', ns, 'steady');
    await waitForResponse(ctl.http, HOST, '/', (x) => x.status === 404, { timeoutMs: 30_000 });
    assert.equal((await get(ctl.http, 'fresh.example.com', '/')).status, 200);
  });
});
