import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { nginxConf } from './configs.ts';
import { ProcessGroup, treeDescriptors } from './procs.ts';
import { idleFigures } from './ws-idle.ts';
import { TunnelClients } from './ws-idle-clients.ts';
import { BASE_FDS, openFilesLimit, planIdleTunnels, singleProcessRefusal } from './ws-idle-plan.ts';

describe('planIdleTunnels', () => {
  test('2,000 tunnels under a 20,000 limit: one process of each kind, as the bench always ran', () => {
    assert.deepEqual(planIdleTunnels(2000, 20_000), {
      clients: [2000],
      backendProcesses: 1,
      proxyProcesses: 1,
    });
  });

  test('20,000 tunnels under a 20,000 limit: every process stays well under the limit', () => {
    const plan = planIdleTunnels(20_000, 20_000);
    assert.deepEqual(plan.clients, [5000, 5000, 5000, 5000]);
    assert.equal(plan.backendProcesses, 2);
    assert.equal(plan.proxyProcesses, 4);
    // Two descriptors per tunnel in the proxy: evenly spread, each worker is at half the limit.
    assert.ok((2 * 20_000) / plan.proxyProcesses + BASE_FDS <= 20_000 / 2 + BASE_FDS);
    assert.ok(20_000 / plan.backendProcesses + BASE_FDS < 20_000);
  });

  test('shares add up to the tunnels asked for, whatever the count', () => {
    for (const n of [0, 1, 99, 4999, 5001, 12_345, 20_000]) {
      const plan = planIdleTunnels(n, 20_000);
      assert.equal(
        plan.clients.reduce((a, b) => a + b, 0),
        n,
      );
      assert.ok(plan.clients.every((c) => c <= 5000));
    }
  });

  test('more than two backend processes would be needed: refused, not silently overloaded', () => {
    assert.throws(() => planIdleTunnels(40_000, 20_000), /more than two backend processes/);
    assert.throws(() => planIdleTunnels(-1, 20_000), /count/);
  });
});

describe('singleProcessRefusal (HAProxy: one process)', () => {
  test('fits at 2,000; says why at 20,000', () => {
    assert.equal(singleProcessRefusal(2000, 20_000), undefined);
    assert.match(singleProcessRefusal(20_000, 20_000) ?? '', /40200 descriptors .* limit is 20000/);
  });
});

describe('openFilesLimit', () => {
  test('reads the soft limit from /proc/self/limits text', () => {
    const text = `Limit                     Soft Limit           Hard Limit           Units
Max open files            1024                 20000                files
`;
    assert.equal(openFilesLimit(text), 1024);
    assert.equal(openFilesLimit('Max open files            unlimited   unlimited   files'), Infinity);
    assert.ok(openFilesLimit() > 0);
  });
});

describe('idleFigures', () => {
  test('per-tunnel KiB over the opened tunnels, share of the growth returned', () => {
    const r = idleFigures({
      tunnels: 10,
      opened: 8,
      rssBeforeKiB: 100,
      rssOpenKiB: 180,
      rssAfterCloseKiB: 120,
    });
    assert.equal(r.kibPerTunnel, 10);
    assert.equal(r.returnedRatio, 0.75);
    assert.equal(r.failed, 2);
    assert.ok(Number.isNaN(idleFigures({ ...r, tunnels: 1, opened: 0, rssAfterCloseKiB: 1 }).kibPerTunnel));
  });
});

describe('TunnelClients (child processes holding the tunnels)', () => {
  const procs = new ProcessGroup();
  let wss: WebSocketServer;
  let url: string;
  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`;
  });
  after(async () => {
    await procs.close();
    for (const c of wss.clients) c.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  test('the children hold the sockets, each at most its share; the bench process holds none', async () => {
    const dir = procs.tempDir('ws-idle-test-');
    const clients = await TunnelClients.start(procs, { url, host: 'x.test', shares: [30, 20], logDir: dir });
    const ownFds = readdirSync('/proc/self/fd').length;
    assert.equal(await clients.open(45), 45);
    assert.equal(wss.clients.size, 45);
    const [first, second] = clients.pids.map((pid) => treeDescriptors(pid)[0]?.fds ?? 0);
    // Child 0 was filled first (30), child 1 got the remaining 15: their descriptor counts differ by that.
    assert.equal((first ?? 0) - (second ?? 0), 15, `descriptors ${first} and ${second}`);
    // This process holds the 45 server sides (the echo server is in it), not the 45 client sides as well.
    const grown = readdirSync('/proc/self/fd').length - ownFds;
    assert.ok(grown >= 45 && grown < 45 + 10, `this process's descriptors grew by ${grown}`);
    // Over the shares (50 in all): only 5 more fit.
    assert.equal(await clients.open(10), 5);
    assert.equal(wss.clients.size, 50);
    await clients.closeAll();
    for (let i = 0; i < 100 && wss.clients.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(wss.clients.size, 0);
    assert.equal(await clients.open(3), 3, 'reopen after close');
    await clients.stop();
  });

  test('a proxy that refuses: failures are counted, not thrown', async () => {
    const dir = procs.tempDir('ws-idle-test-');
    const closed = `ws://127.0.0.1:1/ws`;
    const clients = await TunnelClients.start(procs, {
      url: closed,
      host: 'x.test',
      shares: [5],
      logDir: dir,
    });
    assert.equal(await clients.open(5), 0);
    await clients.stop();
  });
});

describe('nginxConf for the plan', () => {
  const t = { dir: '/tmp/x', certPem: '', keyPem: '', fast: [1, 2], node: [3, 4] } as const;
  const p = { http: 5, https: 6, admin: 7 };
  test('one worker: the configuration the bench always used (no reuseport on the proxy listeners)', () => {
    const conf = nginxConf(t, p);
    assert.equal(conf, nginxConf(t, p, { workers: 1 }));
    assert.match(conf, /^worker_processes 1;/);
    assert.match(conf, /listen 127\.0\.0\.1:5;/);
    assert.match(conf, /listen 127\.0\.0\.1:6 ssl http2;/);
  });

  test('four workers: each with its own listening socket, so the kernel spreads the tunnels', () => {
    const conf = nginxConf(t, p, { workers: 4 });
    assert.match(conf, /^worker_processes 4;/);
    assert.match(conf, /listen 127\.0\.0\.1:5 reuseport;/);
    assert.match(conf, /listen 127\.0\.0\.1:6 ssl http2 reuseport;/);
  });
});
