import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { closeAll, type SocketIoBackend, startSocketIoBackends } from '../helpers/backends.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/** Connects one client; resolves once connected (and upgraded when polling comes first). */
function connectClient(
  url: string,
  transports: ('polling' | 'websocket')[],
  errors: string[],
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports,
      withCredentials: true, // engine.io-client's Node cookie jar: the affinity cookie rides every poll
      rejectUnauthorized: false,
      reconnection: false,
      forceNew: true,
      timeout: 20_000,
    });
    socket.on('connect_error', (err) => {
      errors.push(err.message);
      reject(err);
    });
    socket.on('connect', () => {
      if (transports[0] === 'websocket' || socket.io.engine.transport.name === 'websocket') resolve(socket);
      else socket.io.engine.once('upgrade', () => resolve(socket));
    });
  });
}

async function whoami(socket: Socket): Promise<string> {
  return (await socket.timeout(10_000).emitWithAck('whoami')) as string;
}

describe('socket.io through the proxy over HTTPS', () => {
  let backends: SocketIoBackend[];
  let t: TestDataplane;

  before(async () => {
    backends = await startSocketIoBackends(3);
    t = await startDataplane();
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: '*', tls: true, routes: [{ backend: 'sio' }] }],
        backends: [{ id: 'sio', endpoints: backends.map((b) => b.port), affinity: {} }],
      }),
    );
  });
  after(async () => {
    await t.close();
    await closeAll(backends);
  });

  for (const transports of [['polling', 'websocket'], ['websocket']] as const) {
    test(`50 clients (${transports.join(' then ')}) across 3 backends: no connect error, each on one backend`, async () => {
      const errors: string[] = [];
      const url = `https://127.0.0.1:${t.dp.ports.https}`;
      const clients = await Promise.all(
        Array.from({ length: 50 }, () => connectClient(url, [...transports], errors)),
      );
      try {
        assert.deepEqual(errors, []);
        const perBackend = new Map<string, number>();
        for (const c of clients) {
          const ids = [await whoami(c), await whoami(c), await whoami(c)];
          assert.equal(new Set(ids).size, 1, `one client, one backend: ${ids.join(',')}`);
          assert.equal(c.io.engine.transport.name, 'websocket');
          perBackend.set(ids[0] as string, (perBackend.get(ids[0] as string) ?? 0) + 1);
        }
        assert.equal(perBackend.size, 3, 'clients are spread over the three backends');
      } finally {
        for (const c of clients) c.disconnect();
      }
    });
  }
});
