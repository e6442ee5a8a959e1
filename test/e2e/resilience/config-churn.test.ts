import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { cookiePair, get, waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { certificate, endpointSlice, ingress, service, tlsSecret } from '../framework/objects.ts';

// Issue 14 item 3: configuration churn while sessions are open (WebSockets and cookie sessions; see RESULTS.md).
const HOST = 'churn.example.com';
const CHANGES = 1_000;
const SOCKETS = 500;
const SESSIONS = 20;
/** socket.io clients: half polling only, half polling then WebSocket. */
const SOCKETIO = 200;
/** Every this many changes, every open WebSocket echoes once. */
const ECHO_EVERY = 100;

interface Sock {
  ws: WebSocket;
  backend: string;
}

/** A socket.io client and what it went through. */
interface SioClient {
  socket: Socket;
  home: string;
  disconnects: number;
  reconnects: number;
}

async function echo(s: Sock, text: string): Promise<boolean> {
  s.ws.send(text);
  const [data] = await once(s.ws, 'message');
  return String(data) === `${s.backend}:${text}`;
}

describe('1,000 configuration changes with sessions open', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  const backends: Backend[] = [];
  let extra: Backend;
  const sockets: Sock[] = [];
  const sessions: { cookie: string; backend: string }[] = [];
  const sio: SioClient[] = [];
  let closed = 0;

  const mainIngress = (maxAge: number) =>
    ingress(
      ns,
      'app',
      [
        { host: HOST, service: 'app' },
        { host: '', service: 'app' },
      ],
      {
        annotations: {
          'sticky-ingress.dev/affinity': 'cookie',
          'sticky-ingress.dev/session-cookie-name': 'S',
          'sticky-ingress.dev/session-cookie-max-age': String(maxAge),
        },
      },
    );

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('churn');
    for (const id of ['churn-0', 'churn-1', 'churn-2']) backends.push(await env.host().startBackend(id));
    extra = await env.host().startBackend('churn-extra');
    await env.admin.apply(service(ns, 'app'));
    await env.admin.apply(endpointSlice(ns, 'app', backends));
    await env.admin.apply(mainIngress(3600));
    ctl = await env.controller();
    await waitForResponse(ctl.http, HOST, '/', (r) => r.status === 200);
    for (let i = 0; i < SESSIONS; i += 1) {
      const r = await get(ctl.http, HOST, '/');
      const cookie = cookiePair(r, 'S');
      assert.ok(cookie && r.backend, 'a session cookie and a backend');
      sessions.push({ cookie, backend: r.backend });
    }
    // Opened 50 at a time (bounded concurrency on a shared machine).
    for (let batch = 0; batch < SOCKETS; batch += 50) {
      const opened = await Promise.all(
        Array.from({ length: Math.min(50, SOCKETS - batch) }, async () => {
          const ws = new WebSocket(`ws://127.0.0.1:${ctl.http}/ws`, { headers: { host: HOST } });
          // The backend greets each WebSocket with its id (test/e2e/framework/backend.ts).
          const [greeting] = await once(ws, 'message');
          ws.once('close', () => (closed += 1));
          return { ws, backend: (JSON.parse(String(greeting)) as { id: string }).id };
        }),
      );
      sockets.push(...opened);
    }
    for (let i = 0; i < SOCKETIO; i += 1) {
      const socket = io(`http://127.0.0.1:${ctl.http}`, {
        transports: i % 2 === 0 ? ['polling'] : ['polling', 'websocket'],
        withCredentials: true, // the Node cookie jar: the affinity cookie rides every poll, like a browser
        forceNew: true,
        timeout: 10_000,
      });
      const c: SioClient = { socket, home: '', disconnects: 0, reconnects: 0 };
      socket.on('disconnect', () => (c.disconnects += 1));
      socket.io.on('reconnect', () => (c.reconnects += 1));
      c.home = (await new Promise<{ id: string }>((resolve) => socket.once('hello', resolve))).id;
      sio.push(c);
    }
  });

  after(async () => {
    for (const s of sockets) s.ws.terminate();
    for (const c of sio) c.socket.disconnect();
    await env?.close();
  });

  test('zero WebSockets dropped, zero sessions moved, and the last change is served', async () => {
    const certs = [await certificate(['secure.example.com']), await certificate(['secure.example.com'])];
    await env.admin.apply(tlsSecret(ns, 'secure-cert', certs[0] as { cert: string; key: string }));
    await env.admin.apply(
      ingress(ns, 'secure', [{ host: 'secure.example.com', service: 'app' }], {
        tls: [{ hosts: ['secure.example.com'], secretName: 'secure-cert' }],
      }),
    );
    const kinds = {
      ingressAdded: 0,
      ingressRemoved: 0,
      annotationChanged: 0,
      certRotated: 0,
      sliceChanged: 0,
    };
    let echoes = 0;
    let echoFailures = 0;
    for (let i = 0; i < CHANGES; i += 1) {
      switch (i % 5) {
        case 0:
          await env.admin.apply(
            ingress(ns, `extra-${i}`, [{ host: `extra-${i}.example.com`, service: 'app' }]),
          );
          kinds.ingressAdded += 1;
          break;
        case 1:
          await env.admin.delete('networking.k8s.io/v1', 'Ingress', ns, `extra-${i - 1}`);
          kinds.ingressRemoved += 1;
          break;
        case 2:
          await env.admin.apply(mainIngress(3600 + i));
          kinds.annotationChanged += 1;
          break;
        case 3:
          await env.admin.apply(tlsSecret(ns, 'secure-cert', certs[i % 2] as { cert: string; key: string }));
          kinds.certRotated += 1;
          break;
        default:
          // A second slice of the same Service: an endpoint that carries no session comes and goes.
          await env.admin.apply(endpointSlice(ns, 'app', i % 2 === 0 ? [extra] : [], 'app-extra'));
          kinds.sliceChanged += 1;
      }
      if ((i + 1) % ECHO_EVERY === 0) {
        const results = await Promise.all(sockets.map((s) => echo(s, `c${i}`).catch(() => false)));
        echoes += results.length;
        echoFailures += results.filter((ok) => !ok).length;
      }
    }
    // Every added Ingress was removed again; one more change shows the controller kept up with all of them.
    await env.admin.apply(ingress(ns, 'final', [{ host: 'final.example.com', service: 'app' }]));
    await waitForResponse(ctl.http, 'final.example.com', '/', (r) => r.status === 200, {
      timeoutMs: 60_000,
      description: 'the change made after the churn',
    });
    let moved = 0;
    for (const s of sessions) {
      if ((await get(ctl.http, HOST, '/', { cookie: s.cookie })).backend !== s.backend) moved += 1;
    }
    let sioMoved = 0;
    for (const c of sio) {
      const hello = (await c.socket.timeout(10_000).emitWithAck('whoami')) as { id: string };
      if (hello.id !== c.home) sioMoved += 1;
    }
    const sioDisconnects = sio.reduce((n, c) => n + c.disconnects, 0);
    const sioReconnects = sio.reduce((n, c) => n + c.reconnects, 0);
    console.log(
      `# ${SOCKETIO} socket.io clients (half polling only): ${sioDisconnects} disconnects, ` +
        `${sioReconnects} reconnects, ${sioMoved} not on their pod after the churn`,
    );
    console.log(
      `# ${CHANGES} changes (${JSON.stringify(kinds)}): ${SOCKETS} WebSockets open, ${closed} closed, ` +
        `${echoes} echoes, ${echoFailures} failed; ${SESSIONS} cookie sessions, ${moved} moved`,
    );
    assert.equal(closed, 0, 'WebSockets closed');
    assert.equal(echoFailures, 0, 'failed echoes');
    assert.equal(moved, 0, 'cookie sessions moved off their pod');
    assert.equal(sioDisconnects, 0, 'socket.io disconnects');
    assert.equal(sioReconnects, 0, 'socket.io reconnects');
    assert.equal(sioMoved, 0, 'socket.io sessions moved off their pod');
  });
});
