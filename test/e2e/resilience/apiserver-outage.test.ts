import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { cookiePair, get, waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { endpointSlice, ingress, service } from '../framework/objects.ts';

// Issue 14 item 3: the API server stopped for 60 s (the spec's figure, kept as is) under traffic.
const HOST = 'outage.example.com';
const OUTAGE_MS = 60_000;
const SESSIONS = 8;
const SOCKETS = 20;
// Bounds of the traffic loop: at most this many rounds, and never past the outage.
const MAX_ROUNDS = 2_000;

/** Sends `text` on `ws` and resolves with the echoed message (the backend answers `<id>:<text>`). */
async function echo(ws: WebSocket, text: string): Promise<string> {
  ws.send(text);
  const [data] = await once(ws, 'message');
  return String(data);
}

describe('kube-apiserver stopped for 60 s under traffic', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  const backends: Backend[] = [];
  const sockets: { ws: WebSocket; backend: string }[] = [];
  const sessions: { cookie: string; backend: string }[] = [];

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('outage');
    for (const id of ['outage-0', 'outage-1', 'outage-2']) backends.push(await env.host().startBackend(id));
    await env.admin.apply(service(ns, 'app'));
    await env.admin.apply(endpointSlice(ns, 'app', backends));
    await env.admin.apply(
      ingress(ns, 'app', [{ host: HOST, service: 'app' }], {
        annotations: {
          'sticky-ingress.dev/affinity': 'cookie',
          'sticky-ingress.dev/session-cookie-name': 'S',
        },
      }),
    );
    ctl = await env.controller();
    await waitForResponse(ctl.http, HOST, '/', (r) => r.status === 200);
    for (let i = 0; i < SESSIONS; i += 1) {
      const r = await get(ctl.http, HOST, '/');
      const cookie = cookiePair(r, 'S');
      assert.ok(cookie && r.backend, 'a session cookie and a backend');
      sessions.push({ cookie, backend: r.backend });
    }
    for (let i = 0; i < SOCKETS; i += 1) {
      const ws = new WebSocket(`ws://127.0.0.1:${ctl.http}/ws`, { headers: { host: HOST } });
      // The backend greets each WebSocket with its id (test/e2e/framework/backend.ts).
      const [greeting] = await once(ws, 'message');
      sockets.push({ ws, backend: (JSON.parse(String(greeting)) as { id: string }).id });
    }
  });

  after(async () => {
    for (const s of sockets) s.ws.terminate();
    await env?.close();
  });

  test('requests and open WebSockets see zero failures for the whole outage', async () => {
    let closed = 0;
    for (const s of sockets) s.ws.once('close', () => (closed += 1));
    await env.cluster.stopApiServer();
    const deadline = Date.now() + OUTAGE_MS;
    let requests = 0;
    let failed = 0;
    let moved = 0;
    let echoes = 0;
    let echoFailures = 0;
    for (let round = 0; round < MAX_ROUNDS && Date.now() < deadline; round += 1) {
      const s = sessions[round % sessions.length] as (typeof sessions)[number];
      requests += 1;
      try {
        const r = await get(ctl.http, HOST, `/during/${round}`, { cookie: s.cookie });
        if (r.status !== 200) failed += 1;
        else if (r.backend !== s.backend) moved += 1;
      } catch {
        failed += 1;
      }
      const sock = sockets[round % sockets.length] as (typeof sockets)[number];
      echoes += 1;
      try {
        if ((await echo(sock.ws, `r${round}`)) !== `${sock.backend}:r${round}`) echoFailures += 1;
      } catch {
        echoFailures += 1;
      }
      await sleep(50);
    }
    const restartedAt = Date.now();
    await env.cluster.startApiServer();
    console.log(
      `# apiserver outage ${OUTAGE_MS / 1000} s: ${requests} requests, ${failed} failed, ${moved} moved off their pod; ` +
        `${SOCKETS} WebSockets open, ${echoes} echoes, ${echoFailures} failed, ${closed} closed; ` +
        `apiserver back after ${Date.now() - restartedAt} ms`,
    );
    assert.ok(requests > SESSIONS, 'the loop ran for the outage');
    assert.equal(failed, 0, 'failed requests');
    assert.equal(moved, 0, 'sessions moved off their pod');
    assert.equal(echoFailures, 0, 'failed WebSocket echoes');
    assert.equal(closed, 0, 'WebSockets closed');
    assert.equal(ctl.process.child.exitCode, null, 'the controller is still running');
  });

  test('after the restart the controller catches up: a change made then is served', async () => {
    const started = Date.now();
    await env.admin.apply(ingress(ns, 'fresh', [{ host: 'fresh.example.com', service: 'app' }]));
    // Informers back off (at most 15 s between attempts) before they reconnect.
    const r = await waitForResponse(ctl.http, 'fresh.example.com', '/', (x) => x.status === 200, {
      timeoutMs: 90_000,
      description: 'change made after the restart',
    });
    console.log(`# change made after the restart served after ${Date.now() - started} ms`);
    assert.ok(backends.some((b) => b.id === r.backend));
    for (const s of sessions)
      assert.equal((await get(ctl.http, HOST, '/', { cookie: s.cookie })).backend, s.backend);
    for (const s of sockets) assert.equal(await echo(s.ws, 'after'), `${s.backend}:after`);
  });
});
