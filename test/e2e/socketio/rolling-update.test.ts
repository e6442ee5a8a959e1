import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { get, waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { endpointSlice, ingress, service } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

interface Hello {
  id: string;
  transport: string;
}

/** One socket.io client with what it went through: disconnects, connect errors, reconnections. */
interface Client {
  socket: Socket;
  home: string;
  polling: boolean;
  disconnects: string[];
  connectErrors: string[];
}

for (const mode of ['drainable', 'balanced', 'persistent'] as const) {
  describe(`affinity ${mode}: a real rolling update under socket.io load`, () => {
    let env: E2eEnv;
    let ctl: ControllerProcess;
    let ns: string;
    const olds: Backend[] = [];
    const news: Backend[] = [];
    const clients: Client[] = [];

    const connect = async (transports: ('polling' | 'websocket')[]): Promise<Client> => {
      const socket = io(`http://127.0.0.1:${ctl.http}`, {
        transports,
        withCredentials: true, // the Node cookie jar: the affinity cookie rides every poll, like a browser
        reconnectionDelay: 100,
        reconnectionDelayMax: 500,
        forceNew: true,
        timeout: 10_000,
      });
      const polling = transports.length === 1 && transports[0] === 'polling';
      const c: Client = { socket, home: '', polling, disconnects: [], connectErrors: [] };
      socket.on('disconnect', (reason) => c.disconnects.push(reason));
      socket.on('connect_error', (err) => c.connectErrors.push(err.message));
      c.home = (await new Promise<Hello>((resolve) => socket.once('hello', resolve))).id;
      clients.push(c);
      return c;
    };
    const whoami = async (c: Client) => ((await c.socket.timeout(10_000).emitWithAck('whoami')) as Hello).id;
    /** Backends answering `n` cookie-less requests (new sessions). */
    const fresh = async (n: number) => {
      const out = new Set<string>();
      for (let i = 0; i < n; i += 1) out.add(String((await get(ctl.http, '127.0.0.1', '/')).backend));
      return out;
    };

    before(async () => {
      env = await startEnv();
      ns = await env.namespace('roll');
      for (const id of ['old-0', 'old-1', 'old-2']) olds.push(await env.host().startBackend(id));
      for (const id of ['new-0', 'new-1', 'new-2']) news.push(await env.host().startBackend(id));
      await env.admin.apply(service(ns, 'app'));
      await env.admin.apply(endpointSlice(ns, 'app', olds, 'app-old'));
      await env.admin.apply(
        ingress(ns, 'app', [{ host: '', service: 'app' }], {
          annotations: {
            'nginx.ingress.kubernetes.io/affinity': 'cookie',
            // drainable in ingress-nginx's spelling, so the alias is exercised end to end.
            'nginx.ingress.kubernetes.io/affinity-mode': mode === 'drainable' ? 'persistent-drainable' : mode,
          },
        }),
      );
      ctl = await env.controller();
      await waitForResponse(ctl.http, '127.0.0.1', '/', (r) => r.status === 200);
    });

    after(async () => {
      for (const c of clients) c.socket.disconnect();
      await env?.close();
    });

    test('sessions through the drain, then onto new pods; figures per mode', async () => {
      const moved = new Set<Client>();
      for (let i = 0; i < 6; i += 1) await connect(['polling']);
      for (let i = 0; i < 6; i += 1) await connect(['polling', 'websocket']);
      assert.equal(new Set(clients.map((c) => c.home)).size, 3, 'clients spread over the three old pods');

      // The Deployment's rollout: each new pod becomes ready, one old pod turns terminating but keeps serving
      // (its preStop/graceful shutdown), one step at a time (maxSurge 1, maxUnavailable 0).
      for (let step = 0; step < 3; step += 1) {
        await env.admin.apply(endpointSlice(ns, 'app', news.slice(0, step + 1), 'app-new'));
        const draining = { ready: false, serving: true, terminating: true };
        await env.admin.apply(
          endpointSlice(
            ns,
            'app',
            olds.map((b, i) => (i <= step ? { backend: b, conditions: draining } : b)),
            'app-old',
          ),
        );
        const gone = olds[step]!.id;
        await waitFor(async () => !(await fresh(6)).has(gone), { description: `${gone} out of rotation` });
        for (const c of clients) if ((await whoami(c).catch(() => 'error')) !== c.home) moved.add(c);
      }
      // Every old pod drains; new sessions reach only new pods.
      for (const id of await fresh(9)) assert.match(id, /^new-/);
      const kept = clients.filter((c) => c.disconnects.length === 0 && !moved.has(c)).length;
      const failedDuringDrain = clients.reduce((n, c) => n + c.disconnects.length, 0);

      // The old pods stop serving, then leave the slice: sessions re-pin onto new pods (reconnect).
      const stopped = { ready: false, serving: false, terminating: true };
      await env.admin.apply(
        endpointSlice(
          ns,
          'app',
          olds.map((b) => ({ backend: b, conditions: stopped })),
          'app-old',
        ),
      );
      await env.admin.delete('discovery.k8s.io/v1', 'EndpointSlice', ns, 'app-old');
      for (const b of olds) await b.stop();
      await waitFor(
        async () => {
          for (const c of clients) {
            if (!c.socket.connected) return false;
            const id = await whoami(c).catch(() => 'none');
            if (!id.startsWith('new-')) return false;
          }
          return true;
        },
        { description: 'every client on a new pod', timeoutMs: 60_000 },
      );
      const errors = clients.flatMap((c) => c.connectErrors);
      process.stdout.write(
        `# rolling update, affinity ${mode}: ${clients.length} socket.io clients, ${kept} kept their session through the drain, ` +
          `${clients.length - kept} moved before their pod stopped serving, ${failedDuringDrain} session failures (disconnects) during the drain, ` +
          `${errors.length} connect errors, all on new pods after the old ones stopped\n`,
      );
      // balanced moves the sessions of a terminating pod at once (that is the mode): a polling client whose
      // session moved reconnects while the drain is going on, and one of those reconnections may fail once
      // (seen 1 in 4 runs: 'xhr post error') before the next succeeds; every client ends on a new pod (above).
      // The modes that keep sessions must see none.
      if (mode !== 'balanced') assert.deepEqual(errors, [], 'no client saw a connect error');
      if (mode === 'drainable') {
        assert.equal(kept, clients.length, 'no session moved before its pod stopped serving');
        assert.equal(failedDuringDrain, 0);
      }
    });
  });
}
