import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  type AddressInfo,
  createConnection,
  createServer,
  type Socket as NetSocket,
  type Server,
} from 'node:net';
import { after, before, describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { sealHandshake } from '../../../src/dataplane/upstream/affinity-sid.ts';
import { closeAll, type SocketIoBackend, startSocketIoBackends } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/** A TCP relay on 127.0.0.1 sending each new connection to the next target in turn (a dumb L4 balancer). */
async function alternatingRelay(
  targets: number[],
): Promise<{ port: number; counts: number[]; close(): Promise<void> }> {
  const counts = targets.map(() => 0);
  const open = new Set<NetSocket>();
  let n = 0;
  const server: Server = createServer((client) => {
    const i = n++ % targets.length;
    counts[i]!++;
    const upstream = createConnection({ host: '127.0.0.1', port: targets[i]! });
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        open.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    counts,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A cookie-less socket.io client (Node keeps no cookies without withCredentials); records every failure. */
function connect(url: string, transports: ('polling' | 'websocket')[], errors: string[]): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports, withCredentials: false, reconnection: false, forceNew: true });
    socket.once('connect_error', (err) => {
      errors.push(err.message);
      reject(err);
    });
    socket.on('disconnect', (reason) => errors.push(`disconnect: ${reason}`));
    socket.once('connect', () => {
      if (transports.length === 1 || socket.io.engine.transport.name === 'websocket') resolve(socket);
      else socket.io.engine.once('upgrade', () => resolve(socket));
    });
  });
}

const whoami = async (s: Socket) => (await s.timeout(5_000).emitWithAck('whoami')) as string;

describe('socket.io sessions without cookies: the sealed engine.io sid', () => {
  let backends: SocketIoBackend[];
  let dps: TestDataplane[];
  let relay: Awaited<ReturnType<typeof alternatingRelay>>;
  let version = 1;

  const apply = (socketio: boolean) => {
    const snapshot = buildSnapshot(
      {
        hosts: [{ hostname: '*', routes: [{ backend: 'sio' }] }],
        backends: [{ id: 'sio', endpoints: backends.map((b) => b.port), affinity: { socketio } }],
      },
      version++,
    );
    for (const t of dps) t.dp.apply(snapshot);
  };

  before(async () => {
    backends = await startSocketIoBackends(3);
    dps = await Promise.all([startDataplane(), startDataplane()]); // same affinity key, like two replicas
    relay = await alternatingRelay(dps.map((t) => t.dp.ports.http));
  });
  after(async () => {
    await relay.close();
    await Promise.all(dps.map((t) => t.close()));
    await closeAll(backends);
  });

  /** 12 clients per transport set through the alternating relay; each asks whoami 4 times. */
  async function run(): Promise<{ errors: string[]; homes: string[][]; sids: string[] }> {
    const url = `http://127.0.0.1:${relay.port}`;
    const errors: string[] = [];
    const homes: string[][] = [];
    const sids: string[] = [];
    for (const transports of [['polling'], ['polling', 'websocket']] as const) {
      for (let i = 0; i < 12; i++) {
        const s = await connect(url, [...transports], errors).catch(() => undefined);
        if (s === undefined) continue;
        const ids: string[] = [];
        for (let k = 0; k < 4; k++) ids.push(await whoami(s).catch(() => 'error'));
        homes.push(ids);
        sids.push(s.io.engine.id ?? '');
        s.disconnect();
      }
    }
    return { errors, homes, sids };
  }

  test('socketio on: cookie-less clients alternating between two replicas stay on one pod', async () => {
    apply(true);
    const before = [...relay.counts];
    const r = await run();
    assert.deepEqual(
      r.errors.filter((e) => !e.endsWith('io client disconnect')),
      [],
    );
    assert.equal(r.homes.length, 24, 'every client connected');
    for (const ids of r.homes) assert.equal(new Set(ids).size, 1, `one client, one pod: ${ids.join(',')}`);
    assert.equal(new Set(r.homes.map((h) => h[0])).size, 3, 'sessions spread over the three pods');
    assert.ok(
      relay.counts.every((c, i) => c - before[i]! > 20),
      `both replicas carried traffic: ${relay.counts}`,
    );
    // The sid the client holds is sealed: longer than engine.io's own 20 characters, and not a backend's.
    for (const sid of r.sids) assert.ok(sid.length > 33, sid);
  });

  test('socketio off (baseline): the same cookie-less clients break across replicas', async () => {
    apply(false);
    const r = await run();
    const broken =
      r.errors.length + r.homes.filter((ids) => new Set(ids).size > 1 || ids.includes('error')).length;
    assert.ok(broken > 0, 'without the sealed sid, cookie-less polling sessions land on the wrong pod');
  });

  test('a forged or tampered sid gets a 400 from the proxy, not a random pod; a stolen one its own pod', async () => {
    apply(true);
    const port = dps[0]!.dp.ports.http;
    const errors: string[] = [];
    const victim = await connect(`http://127.0.0.1:${dps[1]!.dp.ports.http}`, ['polling'], errors);
    const home = await whoami(victim);
    const sid = victim.io.engine.id as string;
    const path = (s: string) => `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(s)}`;
    const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
    for (const forged of [
      'AAAAAAAAAAAAAAAAAAAA',
      flip(sid, sid.length - 1),
      flip(sid, 0),
      flip(sid, 25),
      `${sid}x`,
    ]) {
      const res = await request({ port, path: path(forged) });
      assert.equal(res.status, 400, forged);
      assert.equal(res.headers['x-backend-id'], undefined, `${forged} reached no pod`);
    }
    // The stolen sid works exactly like a stolen cookie: it reaches that session's pod, which accepts a packet
    // for it (a noop, engine.io packet type 6); any other pod would answer 400 Session ID unknown.
    const stolen = await request({ port, method: 'POST', path: path(sid), body: '6' });
    assert.equal(stolen.status, 200, stolen.body);
    assert.equal(stolen.headers['x-backend-id'], home);
    victim.disconnect();
  });
});

describe('sealHandshake: engine.io open packets', () => {
  const seal = (sid: string) => `sealed-${sid}`;
  test('EIO 4: 0{json} with the sid replaced, other fields kept', () => {
    const out = sealHandshake('0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000}', seal);
    assert.equal(out, '0{"sid":"sealed-abc","upgrades":["websocket"],"pingInterval":25000}');
  });
  test('EIO 3: the length prefix is recomputed and the following packets kept', () => {
    const first = '0{"sid":"abc","upgrades":[]}';
    const out = sealHandshake(`${first.length}:${first}2:40`, seal);
    const sealed = '0{"sid":"sealed-abc","upgrades":[]}';
    assert.equal(out, `${sealed.length}:${sealed}2:40`);
  });
  test('anything else is left alone', () => {
    for (const body of ['', '4hello', '0{not json', '0{"nosid":1}', '99:0{"sid":"a"}', '{"code":1}']) {
      assert.equal(sealHandshake(body, seal), undefined, body);
    }
  });
});
