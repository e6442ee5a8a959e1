import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { AffinityPolicy } from '../../../src/snapshot/index.ts';
import { type SocketIoBackend, startSocketIoBackends } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { dataplaneHooks, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot, type EndpointSpec } from '../helpers/snapshot.ts';

type Phase = 'up' | 'draining' | 'stopped';
const SIO = '/socket.io/?EIO=4&transport=polling';

/** One socket.io client on `transports`, with the Node cookie jar on; records every disconnect reason. */
function connect(url: string, transports: ('polling' | 'websocket')[], lost: string[]): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports, withCredentials: true, reconnection: false, forceNew: true });
    socket.once('connect_error', reject);
    socket.on('disconnect', (reason) => lost.push(reason));
    socket.once('connect', () => {
      if (transports.length === 1 || socket.io.engine.transport.name === 'websocket') resolve(socket);
      else socket.io.engine.once('upgrade', () => resolve(socket));
    });
  });
}

const whoami = async (s: Socket) => (await s.timeout(5_000).emitWithAck('whoami')) as string;

describe('drainable affinity: sessions stay on a terminating endpoint while it serves', () => {
  let backends: SocketIoBackend[];
  let t: TestDataplane;
  let version = 1;

  /** Applies the snapshot with backend `target` in `phase`, the others up. */
  const apply = (mode: AffinityPolicy['mode'], target: string | undefined, phase: Phase) => {
    const endpoints: EndpointSpec[] = backends.map((b) => {
      if (b.id !== target || phase === 'up') return { port: b.port, id: b.id };
      return { port: b.port, id: b.id, ready: false, serving: phase === 'draining', terminating: true };
    });
    t.dp.apply(
      buildSnapshot(
        {
          hosts: [{ hostname: '*', routes: [{ backend: 'sio' }] }],
          backends: [{ id: 'sio', endpoints, affinity: { mode, changeOnFailure: false } }],
        },
        version++,
      ),
    );
  };

  /** A cookie pinning to `id`, from the Set-Cookie of a real handshake. */
  async function cookieFor(id: string): Promise<string> {
    for (let i = 0; i < 12; i++) {
      const res = await request({ port: t.dp.ports.http, path: SIO });
      const cookie = res.headers['set-cookie']?.[0]?.split(';')[0];
      if (res.headers['x-backend-id'] === id && cookie) return cookie;
    }
    throw new Error(`no handshake reached ${id}`);
  }

  /** Where a WebSocket upgrade carrying `cookie` lands: the backend id and whether a new cookie came back. */
  function upgradeWith(cookie: string): Promise<{ id: string; setCookie: boolean }> {
    const ws = new WebSocket(`ws://127.0.0.1:${t.dp.ports.http}/socket.io/?EIO=4&transport=websocket`, {
      headers: { cookie },
    });
    return new Promise((resolve, reject) => {
      ws.once('upgrade', (res) => {
        resolve({
          id: String(res.headers['x-backend-id']),
          setCookie: res.headers['set-cookie'] !== undefined,
        });
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  dataplaneHooks(
    () => startSocketIoBackends(3),
    (b, d) => ([backends, t] = [b, d]),
  );

  /**
   * Connects 9 clients per transport set, drains the backend holding the first polling client, and reports
   * what that backend's clients and new clients saw while it drained. Disconnects everything at the end.
   */
  async function drainOnce(mode: AffinityPolicy['mode']) {
    apply(mode, undefined, 'up');
    const url = `http://127.0.0.1:${t.dp.ports.http}`;
    const lost: string[] = [];
    const clients: { socket: Socket; home: string; polling: boolean }[] = [];
    for (const transports of [['polling'], ['polling', 'websocket'], ['websocket']] as const) {
      for (let i = 0; i < 9; i++) {
        const socket = await connect(url, [...transports], lost);
        const polling = transports.length === 1 && transports[0] === 'polling';
        clients.push({ socket, home: await whoami(socket), polling });
      }
    }
    const target = clients[0]!.home;
    const cookie = await cookieFor(target);
    apply(mode, target, 'draining');
    try {
      const onTarget = clients.filter((c) => c.home === target);
      const answers = await Promise.all(onTarget.map((c) => whoami(c.socket).catch(() => 'error')));
      const fresh: Socket[] = [];
      for (let i = 0; i < 6; i++) fresh.push(await connect(url, ['polling', 'websocket'], []));
      const freshHomes = await Promise.all(fresh.map(whoami));
      for (const s of fresh) s.disconnect();
      return {
        target,
        onTarget,
        answers,
        lostWhileDraining: [...lost],
        freshHomes,
        upgrade: await upgradeWith(cookie),
        http: await request({ port: t.dp.ports.http, path: SIO, headers: { cookie } }),
      };
    } finally {
      for (const c of clients) c.socket.disconnect();
    }
  }

  test('drainable: clients of a terminating+serving pod keep it (polling, upgrades); new ones avoid it', async () => {
    const r = await drainOnce('drainable');
    assert.ok(
      r.onTarget.some((c) => c.polling),
      'a polling-only client is on the draining backend',
    );
    assert.deepEqual(r.lostWhileDraining, [], 'no client disconnected');
    assert.deepEqual(
      r.answers,
      r.onTarget.map(() => r.target),
      'every session on the draining pod is still answered by it',
    );
    assert.ok(!r.freshHomes.includes(r.target), `new sessions avoid ${r.target}: ${r.freshHomes.join(',')}`);
    assert.deepEqual(r.upgrade, { id: r.target, setCookie: false }, 'an upgrade with its cookie reaches it');
    assert.equal(r.http.headers['x-backend-id'], r.target);
    assert.equal(r.http.headers['set-cookie'], undefined);
  });

  test('drainable: once the pod stops serving, its cookie is re-pinned like balanced', async () => {
    apply('drainable', undefined, 'up');
    const target = backends[1]!.id;
    const cookie = await cookieFor(target);
    apply('drainable', target, 'stopped');
    const res = await request({ port: t.dp.ports.http, path: SIO, headers: { cookie } });
    assert.equal(res.status, 200);
    assert.notEqual(res.headers['x-backend-id'], target);
    assert.match(String(res.headers['set-cookie']), /^route=/, 're-pinned with a new cookie');
    const up = await upgradeWith(cookie);
    assert.notEqual(up.id, target);
    assert.equal(up.setCookie, true);
    // And when it leaves the slice altogether (rolling update done), the same.
    t.dp.apply(
      buildSnapshot(
        {
          hosts: [{ hostname: '*', routes: [{ backend: 'sio' }] }],
          backends: [
            {
              id: 'sio',
              endpoints: backends.filter((b) => b.id !== target).map((b) => ({ port: b.port, id: b.id })),
              affinity: { mode: 'drainable' },
            },
          ],
        },
        version++,
      ),
    );
    const gone = await request({ port: t.dp.ports.http, path: SIO, headers: { cookie } });
    assert.notEqual(gone.headers['x-backend-id'], target);
  });

  test('balanced (baseline): the same drain moves polling sessions at once, and they break', async () => {
    const r = await drainOnce('balanced');
    const pollingOnTarget = r.onTarget.filter((c) => c.polling).length;
    assert.ok(pollingOnTarget > 0);
    assert.ok(
      r.answers.filter((a) => a === 'error').length >= pollingOnTarget,
      `polling sessions on the drained pod fail: ${r.answers.join(',')}`,
    );
    assert.notEqual(r.upgrade.id, r.target);
  });
});
