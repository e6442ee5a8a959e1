import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Upstreams } from '../../../src/dataplane/upstream/upstreams.ts';
import type { ActiveHealthCheck, Endpoint } from '../../../src/snapshot/index.ts';
import { backend, KEY } from './fixtures.ts';

/** A real HTTP server on 127.0.0.1:0 that records every request path and lets a test wait for them. */
class Recorder extends EventEmitter {
  readonly paths: string[] = [];
  readonly hosts: string[] = [];
  server: Server;

  constructor(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
    super();
    this.server = createServer((req, res) => {
      this.paths.push(req.url ?? '');
      this.hosts.push(req.headers.host ?? '');
      handler(req, res, this.paths.length);
      this.emit('request');
    });
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  /** Resolves once `count(paths)` reaches n. */
  async until(n: number, count: (paths: string[]) => number = (p) => p.length): Promise<void> {
    while (count(this.paths) < n) await once(this, 'request');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}

/** Health flips as `backend endpoint healthy|unhealthy`, with a waiter. */
class Flips extends EventEmitter {
  readonly list: string[] = [];
  readonly record = (b: string, e: string, healthy: boolean) => {
    this.list.push(`${b} ${e} ${healthy ? 'healthy' : 'unhealthy'}`);
    this.emit('flip');
  };

  async until(entry: string): Promise<void> {
    while (!this.list.includes(entry)) await once(this, 'flip');
  }
}

function ep(name: string, port: number): Endpoint {
  return {
    id: `default/${name}`,
    address: '127.0.0.1',
    port,
    weight: 1,
    ready: true,
    serving: true,
    terminating: false,
  };
}

function check(over: Partial<ActiveHealthCheck> = {}): ActiveHealthCheck {
  return {
    path: '/healthz',
    intervalMs: 15,
    timeoutMs: 2000,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
    ...over,
  };
}

const status = (code: number) => (_req: IncomingMessage, res: ServerResponse) => res.writeHead(code).end('x');

describe('active health checks against real servers', { timeout: 20_000 }, () => {
  test('a server answering 500 then 200 flips unhealthy then healthy, and new sessions avoid it meanwhile', async () => {
    const flaky = new Recorder((_req, res, n) => res.writeHead(n <= 3 ? 500 : 200).end());
    const good = new Recorder(status(204));
    const [p1, p2] = [await flaky.listen(), await good.listen()];
    const flips = new Flips();
    const up = new Upstreams({ affinityKey: KEY, onHealthChange: flips.record });
    try {
      up.update([
        backend([ep('flaky', p1), ep('good', p2)], {
          id: 'b',
          health: { passive: { failures: 3, cooldownMs: 1 }, active: check() },
        }),
      ]);
      await flips.until('b default/flaky unhealthy');
      const flakyState = [...up.endpoints()][0]!;
      assert.equal(flakyState.healthy, false);
      for (let i = 0; i < 5; i++)
        assert.equal(up.backend('b')!.pick(undefined, false)!.endpoint.id, 'default/good');
      await flips.until('b default/flaky healthy');
      assert.equal(flakyState.healthy, true);
      assert.deepEqual(flips.list, ['b default/flaky unhealthy', 'b default/flaky healthy']);
      assert.ok(flaky.paths.length >= 5 && flaky.paths.every((p) => p === '/healthz'));
      assert.equal(flaky.hosts[0], `127.0.0.1:${p1}`);
    } finally {
      up.close();
      await Promise.all([flaky.close(), good.close()]);
    }
  });

  test('a probe that times out and a refused connection both count as failures', async () => {
    const silent = new Recorder(() => {}); // never answers
    const gone = new Recorder(status(200));
    const [p1, p2] = [await silent.listen(), await gone.listen()];
    await gone.close();
    const flips = new Flips();
    const up = new Upstreams({ affinityKey: KEY, onHealthChange: flips.record });
    try {
      const active = check({ timeoutMs: 30, unhealthyThreshold: 1 });
      up.update([
        backend([ep('silent', p1), ep('gone', p2)], {
          id: 'b',
          health: { passive: { failures: 3, cooldownMs: 1 }, active },
        }),
      ]);
      await Promise.all([flips.until('b default/silent unhealthy'), flips.until('b default/gone unhealthy')]);
      assert.deepEqual(
        [...up.endpoints()].map((e) => e.healthy),
        [false, false],
      );
      // Panic mode: every ready endpoint unhealthy still serves rather than 503.
      assert.ok(up.backend('b')!.pick(undefined, false));
    } finally {
      up.close();
      await silent.close();
    }
  });

  test('one checker per endpoint and path, reporting to every backend that lists it', async () => {
    const bad = new Recorder(status(503));
    const port = await bad.listen();
    const flips = new Flips();
    const up = new Upstreams({ affinityKey: KEY, onHealthChange: flips.record });
    try {
      const health = { passive: { failures: 3, cooldownMs: 1 }, active: check({ unhealthyThreshold: 1 }) };
      up.update([
        backend([ep('x', port)], { id: 'a', health }),
        backend([ep('x', port)], { id: 'b', health }),
      ]);
      assert.equal(up.activeChecks, 1);
      await Promise.all([flips.until('a default/x unhealthy'), flips.until('b default/x unhealthy')]);
      const other = { ...health, active: check({ path: '/other', unhealthyThreshold: 1 }) };
      up.update([
        backend([ep('x', port)], { id: 'a', health }),
        backend([ep('x', port)], { id: 'b', health: other }),
      ]);
      assert.equal(up.activeChecks, 2);
      await bad.until(1, (paths) => paths.filter((p) => p === '/other').length);
      // The endpoint leaves every checked backend: checkers stop and their verdicts no longer count.
      up.update([backend([ep('x', port)], { id: 'c' })]);
      assert.equal(up.activeChecks, 0);
      assert.equal([...up.endpoints()][0]!.healthy, true);
    } finally {
      up.close();
      await bad.close();
    }
  });

  test('close() stops probing while another instance keeps going', async () => {
    const server = new Recorder(status(200));
    const port = await server.listen();
    const closed = new Upstreams({ affinityKey: KEY });
    const running = new Upstreams({ affinityKey: KEY });
    const countOf = (path: string) => (paths: string[]) => paths.filter((p) => p === path).length;
    try {
      const health = (path: string) => ({ passive: { failures: 3, cooldownMs: 1 }, active: check({ path }) });
      closed.update([backend([ep('x', port)], { health: health('/closed') })]);
      running.update([backend([ep('x', port)], { health: health('/running') })]);
      await server.until(2, countOf('/closed'));
      closed.close();
      assert.equal(closed.activeChecks, 0);
      // An update after close keeps pools current but starts nothing.
      closed.update([backend([ep('y', port)], { health: health('/closed') })]);
      assert.equal(closed.activeChecks, 0);
      const seen = countOf('/running')(server.paths);
      await server.until(seen + 1, countOf('/running'));
      const after = countOf('/closed')(server.paths);
      await server.until(seen + 4, countOf('/running'));
      assert.equal(countOf('/closed')(server.paths), after);
    } finally {
      closed.close();
      running.close();
      await server.close();
    }
  });

  test('a checker never holds the process open (unref timers and sockets)', async () => {
    const module = fileURLToPath(new URL('../../../src/dataplane/upstream/upstreams.ts', import.meta.url));
    // The child probes its own server; once probed it closes the server but NOT the Upstreams, and must exit.
    const script = `
      import { createServer } from 'node:http';
      import { Upstreams } from ${JSON.stringify(module)};
      const server = createServer((req, res) => { res.end(); server.close(); process.stdout.write('probed'); });
      server.listen(0, '127.0.0.1', () => {
        const up = new Upstreams({ affinityKey: Buffer.from('k') });
        const e = { id: 'x', address: '127.0.0.1', port: server.address().port, weight: 1, ready: true, serving: true, terminating: false };
        up.update([{ id: 'b', service: { namespace: 'n', name: 's', port: 'p' }, source: { kind: 'Ingress', namespace: 'n', name: 's' },
          endpoints: [e], balance: 'round-robin', timeouts: { connectMs: 1, readMs: 1, tunnelIdleMs: 1 }, retries: 0,
          health: { passive: { failures: 1, cooldownMs: 1 }, active: { path: '/', intervalMs: 10, timeoutMs: 1000, healthyThreshold: 1, unhealthyThreshold: 1 } } }]);
      });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
    assert.equal(out, 'probed');
  });
});
