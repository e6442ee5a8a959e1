import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { ingress, service } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

interface Hello {
  id: string;
  transport: string;
}

describe('socket.io through the controller to three backends', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  const backends: Backend[] = [];
  const sockets: Socket[] = [];

  /** Connects a client (cookie jar on: the affinity cookie rides along like in a browser) and waits for hello. */
  const connect = async (
    transports: ('polling' | 'websocket')[],
  ): Promise<{ socket: Socket; hello: Hello }> => {
    const socket = io(`http://${ctl.address}:${ctl.http}`, {
      transports,
      withCredentials: true,
      reconnection: false,
      forceNew: true,
      timeout: 10_000,
    });
    sockets.push(socket);
    const hello = await new Promise<Hello>((resolve, reject) => {
      socket.once('hello', resolve);
      socket.once('connect_error', reject);
    });
    return { socket, hello };
  };
  const whoami = (socket: Socket) => socket.timeout(10_000).emitWithAck('whoami') as Promise<Hello>;

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('sio');
    for (const id of ['rt-0', 'rt-1', 'rt-2']) backends.push(await env.host().startBackend(id));
    await env.admin.apply(service(ns, 'rt'));
    await env.endpoints(ns, 'rt', backends);
    // No host: socket.io-client cannot set a Host header on Node's polling transport.
    await env.admin.apply(
      ingress(ns, 'rt', [{ host: '', service: 'rt' }], {
        annotations: {
          'sticky-ingress.dev/affinity': 'cookie',
          'sticky-ingress.dev/load-balance': 'round-robin',
        },
      }),
    );
    ctl = await env.controller();
    await waitForResponse(ctl.http, '127.0.0.1', '/', (r) => r.status === 200);
  });

  after(async () => {
    for (const s of sockets) s.disconnect();
    await env?.close();
  });

  test('polling then upgrade: every client stays on the backend of its handshake', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i += 1) {
      const { socket, hello } = await connect(['polling', 'websocket']);
      assert.equal(hello.transport, 'polling');
      await waitFor(() => socket.io.engine.transport.name === 'websocket', {
        description: 'upgrade to websocket',
      });
      const me = await whoami(socket);
      assert.deepEqual(me, { id: hello.id, transport: 'websocket' });
      seen.add(hello.id);
      socket.disconnect();
    }
    assert.ok(seen.size > 1, `clients spread over backends (saw ${[...seen].join(', ')})`);
  });

  test('polling only: many separate HTTP requests all reach one backend', async () => {
    const { socket, hello } = await connect(['polling']);
    for (let i = 0; i < 10; i += 1) assert.equal((await whoami(socket)).id, hello.id);
    socket.disconnect();
  });

  test('websocket only: the tunnel carries events both ways', async () => {
    for (let i = 0; i < 3; i += 1) {
      const { socket, hello } = await connect(['websocket']);
      assert.equal(hello.transport, 'websocket');
      assert.deepEqual(await whoami(socket), { id: hello.id, transport: 'websocket' });
      socket.disconnect();
    }
  });

  test('a plain WebSocket echoes through the proxy', async () => {
    const ws = new WebSocket(`ws://${ctl.address}:${ctl.http}/ws`);
    const [greeting] = await once(ws, 'message');
    const id = JSON.parse(String(greeting)).id as string;
    assert.match(id, /^rt-\d$/);
    ws.send('ping');
    const [echo] = await once(ws, 'message');
    assert.equal(String(echo), `${id}:ping`);
    ws.close();
    await once(ws, 'close');
  });
});
