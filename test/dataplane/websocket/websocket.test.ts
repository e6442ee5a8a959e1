import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { after, before, describe, test } from 'node:test';
import type { RequestRecord } from '../../../src/dataplane/observe/observer.ts';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { closed, echo, openWebSocket } from '../helpers/ws.ts';

describe('WebSocket tunnels', () => {
  let backends: TestBackend[];
  let t: TestDataplane;
  const tunnels: { status: number; tunnel: boolean; endpointId: string }[] = [];
  const events = new EventEmitter();
  let version = 1;

  const snapshot = (extraHost: boolean, tunnelIdleMs = 60_000) =>
    buildSnapshot(
      {
        hosts: [
          { hostname: 'ws.test', routes: [{ backend: 'ws' }] },
          { hostname: 'idle.test', routes: [{ backend: 'idle' }] },
          ...(extraHost ? [{ hostname: `extra${version}.test`, routes: [{ backend: 'ws' }] }] : []),
        ],
        backends: [
          { id: 'ws', endpoints: backends.map((b) => b.port) },
          { id: 'idle', endpoints: [(backends[0] as TestBackend).port], timeouts: { tunnelIdleMs } },
        ],
      },
      version++,
    );

  before(async () => {
    backends = await startBackends(3);
    t = await startDataplane({
      observer: {
        onRequest: () => {},
        onTunnelClose: (r: RequestRecord) => {
          tunnels.push({ status: r.status, tunnel: r.tunnel, endpointId: r.endpointId });
          events.emit('tunnel');
        },
      },
    });
    t.dp.apply(snapshot(false, 300));
  });
  after(async () => {
    await t.close();
    await closeAll(backends);
  });

  test('50 open WebSockets survive 100 snapshot swaps and still echo', async () => {
    const url = `ws://127.0.0.1:${t.dp.ports.http}/chat`;
    const sockets = await Promise.all(Array.from({ length: 50 }, () => openWebSocket(url, 'ws.test')));
    const spread = new Set(sockets.map((s) => s.upgrade.headers['x-backend-id']));
    assert.equal(spread.size, 3, 'round-robin spreads tunnels over the three backends');
    for (let i = 0; i < 100; i++) assert.equal(t.dp.apply(snapshot(i % 2 === 0, 300)), true);
    const replies = await Promise.all(sockets.map((s, i) => echo(s.ws, `m${i}`)));
    for (const [i, r] of replies.entries()) {
      assert.equal(r, `${sockets[i]?.upgrade.headers['x-backend-id']}:m${i}`);
    }
    const active = [...t.dp.upstreams.endpoints()].reduce((n, e) => n + e.active, 0);
    assert.equal(active, 50, 'every open tunnel holds its endpoint');
    for (const s of sockets) s.ws.close();
    await Promise.all(sockets.map((s) => closed(s.ws)));
  });

  test('an idle tunnel is closed after tunnelIdleMs and reported to the observer', async () => {
    const before = tunnels.length;
    const reportedOnce = new Promise((resolve) => events.once('tunnel', resolve));
    const { ws } = await openWebSocket(`ws://127.0.0.1:${t.dp.ports.http}/`, 'idle.test');
    await closed(ws);
    await reportedOnce;
    const reported = tunnels
      .slice(before)
      .find((r) => r.endpointId === `127.0.0.1:${(backends[0] as TestBackend).port}`);
    assert.deepEqual(reported && { status: reported.status, tunnel: reported.tunnel }, {
      status: 101,
      tunnel: true,
    });
  });

  test('Upgrade to an unknown host gets 404 on the raw socket', async () => {
    await assert.rejects(
      openWebSocket(`ws://127.0.0.1:${t.dp.ports.http}/`, 'nope.test'),
      /unexpected response 404/,
    );
  });
});
