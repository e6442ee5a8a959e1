import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Socket as IoSocket, io } from 'socket.io-client';
import WebSocket from 'ws';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { cookiePair, get, waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { endpointSlice, ingress, service } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

// Issue 14 item 3: the controller itself rolled. Two replicas share the affinity key; WebSocket and socket.io
// clients are connected through replica A; A gets SIGTERM. WebSocket clients must see a clean close (1001),
// every client must get back onto its own pod through replica B (same cookie), and a bounded request loop
// spread over both replicas must see zero failures.

const COOKIE = 'INGRESSCOOKIE';
const WEBSOCKETS = 12;
const SESSIONS = 8;
// Bounds of the background request loop: rounds, and it stops once the checks are done.
const MAX_ROUNDS = 3_000;

interface Hello {
  id: string;
  transport: string;
}

/**
 * A TCP load balancer in front of the replicas, as a Service (kube-proxy) or a cloud LB is: each new connection
 * goes to the next replica round-robin; a replica that refuses (its listener closed) is skipped.
 */
class Front {
  readonly server: Server;
  targets: number[] = [];
  readonly accepted = new Map<number, number>();
  #next = 0;
  #sockets = new Set<Socket>();

  constructor() {
    this.server = createServer((client) => this.#route(client));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
  }

  #route(client: Socket, tried = 0, first = this.#next++): void {
    if (tried === 0) {
      client.pause();
      client.on('error', () => {});
      this.#sockets.add(client);
      client.once('close', () => this.#sockets.delete(client));
    }
    if (tried >= this.targets.length) {
      client.destroy();
      return;
    }
    // A refused connect tries the following replica, each at most once.
    const port = this.targets[(first + tried) % this.targets.length] as number;
    const upstream = connect(port, '127.0.0.1');
    let connected = false;
    upstream.on('error', () => {
      if (!connected) this.#route(client, tried + 1, first);
      else client.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      this.accepted.set(port, (this.accepted.get(port) ?? 0) + 1);
      this.#sockets.add(upstream);
      // FINs travel through pipe(); a reset either side resets the other.
      upstream.once('close', () => this.#sockets.delete(upstream));
      client.once('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }

  close(): void {
    for (const s of this.#sockets) s.destroy();
    this.server.close();
  }
}

describe('controller rollout: replica A gets SIGTERM, its clients move to replica B on the same pods', () => {
  let env: E2eEnv;
  let a: ControllerProcess;
  let b: ControllerProcess;
  const front = new Front();
  const backends: Backend[] = [];
  const sockets: { ws: WebSocket; home: string; cookie: string; code: Promise<number> }[] = [];
  const clients: { socket: IoSocket; home: string; kind: string; disconnects: string[]; errors: string[] }[] =
    [];

  before(async () => {
    env = await startEnv();
    const ns = await env.namespace('rollout');
    for (const id of ['pod-0', 'pod-1', 'pod-2']) backends.push(await env.host().startBackend(id));
    await env.admin.apply(service(ns, 'app'));
    await env.admin.apply(endpointSlice(ns, 'app', backends));
    await env.admin.apply(
      ingress(ns, 'app', [{ host: '', service: 'app' }], {
        annotations: { 'sticky-ingress.dev/affinity': 'cookie' },
      }),
    );
    a = await env.controller('replica-a');
    b = await env.controller('replica-b');
    await waitForResponse(a.http, '127.0.0.1', '/', (r) => r.status === 200);
    await waitForResponse(b.http, '127.0.0.1', '/', (r) => r.status === 200);
    await front.listen();
    front.targets = [a.http];
  });

  after(async () => {
    for (const s of sockets) s.ws.terminate();
    for (const c of clients) c.socket.disconnect();
    front.close();
    await env?.close();
  });

  /** A browser's first page load: the affinity cookie and the pod that answered. */
  const pageLoad = async () => {
    const r = await get(front.port, '127.0.0.1', '/');
    const cookie = cookiePair(r, COOKIE);
    assert.ok(cookie && r.backend, 'a cookie and a pod');
    return { cookie, home: r.backend };
  };

  const openWs = async (cookie: string) => {
    const ws = new WebSocket(`ws://127.0.0.1:${front.port}/ws`, { headers: { cookie } });
    const [greeting] = await once(ws, 'message');
    return { ws, id: (JSON.parse(String(greeting)) as { id: string }).id };
  };

  const whoami = async (s: IoSocket) => ((await s.timeout(10_000).emitWithAck('whoami')) as Hello).id;

  test('WebSockets see 1001, socket.io sessions land on the same pods through B, zero failed requests', async () => {
    // Everyone connects through replica A.
    for (let i = 0; i < WEBSOCKETS; i += 1) {
      const { cookie, home } = await pageLoad();
      const { ws, id } = await openWs(cookie);
      assert.equal(id, home, 'the cookie pins the WebSocket');
      const code = new Promise<number>((resolve) => ws.once('close', (c: number) => resolve(c)));
      sockets.push({ ws, home, cookie, code });
    }
    const kinds: [string, ('polling' | 'websocket')[]][] = [
      ['polling', ['polling']],
      ['polling+websocket', ['polling', 'websocket']],
      ['websocket', ['websocket']],
    ];
    for (const [kind, transports] of kinds) {
      for (let i = 0; i < 4; i += 1) {
        const { cookie, home } = await pageLoad();
        // The cookie rides every request and every reconnection, as a browser's cookie jar does.
        const socket = io(`http://127.0.0.1:${front.port}`, {
          transports,
          extraHeaders: { cookie },
          reconnectionDelay: 100,
          reconnectionDelayMax: 500,
          forceNew: true,
          timeout: 10_000,
        });
        const c = { socket, home, kind, disconnects: [] as string[], errors: [] as string[] };
        socket.on('disconnect', (reason) => c.disconnects.push(reason));
        socket.on('connect_error', (err) => c.errors.push(err.message));
        const hello = await new Promise<Hello>((resolve) => socket.once('hello', resolve));
        assert.equal(hello.id, home, `${kind} session on its cookie's pod`);
        clients.push(c);
      }
    }
    const sessions: { cookie: string; home: string }[] = [];
    for (let i = 0; i < SESSIONS; i += 1) sessions.push(await pageLoad());
    assert.equal(front.accepted.get(b.http) ?? 0, 0, 'nothing reached B yet');

    // From now on the front spreads new connections over both replicas.
    front.targets = [a.http, b.http];
    let stop = false;
    const loop = { requests: 0, failed: 0, moved: 0, errors: [] as string[] };
    const traffic = (async () => {
      for (let round = 0; round < MAX_ROUNDS && !stop; round += 1) {
        const s = sessions[round % SESSIONS] as { cookie: string; home: string };
        loop.requests += 1;
        try {
          const r = await get(front.port, '127.0.0.1', '/', { cookie: s.cookie });
          if (r.status !== 200) {
            loop.failed += 1;
            loop.errors.push(`status ${r.status}`);
          } else if (r.backend !== s.home) loop.moved += 1;
        } catch (err) {
          loop.failed += 1;
          loop.errors.push((err as Error).message);
        }
      }
    })();

    await a.stop();
    const codes = await Promise.all(sockets.map((s) => s.code));

    // WebSocket clients reconnect with their cookie: through B now, onto the same pod.
    let wsSamePod = 0;
    const wsErrors: string[] = [];
    for (const s of sockets) {
      try {
        const again = await openWs(s.cookie);
        if (again.id === s.home) wsSamePod += 1;
        again.ws.close();
      } catch (err) {
        wsErrors.push(`reconnect: ${(err as Error).message}`);
      }
    }
    // socket.io clients reconnect on their own (or kept polling through B); each answers from its pod.
    await waitFor(
      async () => {
        for (const c of clients) {
          if (!c.socket.connected) return false;
          if ((await whoami(c.socket).catch(() => 'none')) === 'none') return false;
        }
        return true;
      },
      { description: 'every socket.io client connected again', timeoutMs: 60_000 },
    );
    let ioSamePod = 0;
    const where: string[] = [];
    for (const c of clients) {
      const id = await whoami(c.socket).catch((err: Error) => `error ${err.message}`);
      if (id === c.home) ioSamePod += 1;
      where.push(`${c.kind}: ${c.home} -> ${id} [${c.disconnects.join(',')}] {${c.errors.join(',')}}`);
    }
    if (ioSamePod < clients.length) process.stdout.write(`# ${where.join('\n# ')}\n`);
    // A few more rounds with A gone, then the loop stops.
    const after = loop.requests;
    await waitFor(async () => loop.requests >= after + 2 * SESSIONS, { description: 'requests through B' });
    stop = true;
    await traffic;

    const reconnected = clients.filter((c) => c.disconnects.length > 0);
    const byKind = kinds
      .map(([kind]) => {
        const of = clients.filter((c) => c.kind === kind);
        return `${kind} ${of.filter((c) => c.disconnects.length > 0).length}/${of.length}`;
      })
      .join(', ');
    process.stdout.write(
      `# controller rollout (replica A SIGTERM, drain 2 s): ${sockets.length} WebSockets closed with ` +
        `${[...new Set(codes)].join('/')} (${codes.filter((c) => c === 1001).length}/${codes.length} got 1001), ` +
        `${wsSamePod}/${sockets.length} reconnected through B to the same pod (${wsErrors.length} errors); ${clients.length} socket.io clients: ` +
        `${ioSamePod}/${clients.length} on the same pod after A left, ${clients.length - ioSamePod} moved, ` +
        `${reconnected.length} reconnected (${byKind}), ${clients.flatMap((c) => c.errors).length} connect errors; ` +
        `HTTP loop over both replicas: ${loop.requests} requests, ${loop.failed} failed, ${loop.moved} off their pod; ` +
        `connections accepted A ${front.accepted.get(a.http) ?? 0}, B ${front.accepted.get(b.http) ?? 0}\n`,
    );
    assert.deepEqual(
      codes,
      sockets.map(() => 1001),
      'every WebSocket of A closed with 1001 Going Away',
    );
    assert.deepEqual(wsErrors, [], 'every WebSocket reconnected');
    assert.equal(wsSamePod, sockets.length, 'every WebSocket back on its pod through B');
    assert.equal(ioSamePod, clients.length, 'every socket.io session back on its pod');
    assert.deepEqual(loop.errors.slice(0, 5), [], 'no HTTP request failed');
    assert.equal(loop.moved, 0, 'no cookie session moved off its pod');
    assert.ok((front.accepted.get(b.http) ?? 0) > 0, 'B served');
  });
});
