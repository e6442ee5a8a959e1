/**
 * CPU per request of the whole HTTP path with every feature on (routing, cookie affinity with Set-Cookie on
 * every response, X-Forwarded-*, metrics, access log to /dev/null), in ONE process: the Dataplane, two raw TCP
 * upstreams answering like nginx, and 32 keep-alive raw clients. No peer process to wake on another core, so
 * on a loaded machine the figure moves far less than bench/cpu-per-request.ts's (which stays the reference on
 * a quiet one). The client and upstream costs are in the figure, the same for both sides of an A/B.
 * Usage: node bench/path-cpu.ts [--base DIR] [--requests 20000] [--repeat 5] [--floor] [--route-only]
 *        [--scenario proxy|redirect]
 *   --base DIR: also a Dataplane built from the checkout in DIR (node_modules linked), rounds interleaved.
 *   --floor: also node-raw (bench/lib/node-raw.ts: node:http + the product's H1Pool, nothing else), the floor.
 *   --route-only: the Dataplanes without affinity, metrics and access log (the sticky-route rung).
 *   --scenario redirect: the requests name a TLS host and get the HTTP->HTTPS 308 (no upstream touched).
 *   --alloc N: after the timed rounds, one more round per side under V8's sampling heap profiler (garbage
 *   included, so it does not skew the figures above), then the N allocation sites of the most bytes per request (this process holds the clients and upstreams too: compare sides, or the
 *   sites under src/). What the young generation churns through per request, i.e. what the scavenger pays.
 */
import { once } from 'node:events';
import { Session } from 'node:inspector/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchDataplaneOptions } from './lib/dataplane-options.ts';
import { startNodeRaw } from './lib/node-raw.ts';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    requests: { type: 'string', default: '20000' },
    repeat: { type: 'string', default: '5' },
    floor: { type: 'boolean', default: false },
    'route-only': { type: 'boolean', default: false },
    scenario: { type: 'string', default: 'proxy' },
    alloc: { type: 'string' },
  },
});
const REPO = resolve(new URL('..', import.meta.url).pathname);

// What the bench's nginx backend answers (bench/lib/configs.ts backendNginxConf), byte for byte in shape.
const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 29 Nov 2026 08:00:00 GMT\r\n' +
    'Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n',
);

/** An upstream that answers every request head (no bodies in this bench) with RESPONSE. */
async function upstream(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.setNoDelay(true);
    let pending = '';
    s.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        pending = pending.slice(end + 4);
        s.write(RESPONSE);
      }
    });
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

interface Side {
  name: string;
  port: number;
  close(): Promise<void>;
}

async function startSide(name: string, root: string, ports: [number, number]): Promise<Side> {
  const { Dataplane } = await import(`${root}/src/dataplane/dataplane.ts`);
  const { createObservability } = await import(`${root}/src/dataplane/observe/observability.ts`);
  const { createRegistry } = await import(`${root}/src/shared/metrics-registry.ts`);
  const { buildSnapshot } = await import(`${root}/test/dataplane/helpers/snapshot.ts`);
  const registry = createRegistry({ processMetrics: false });
  const all = args['route-only'] !== true;
  const obs = createObservability({ registry, accessLog: { destination: '/dev/null' } });
  const dp = new Dataplane({
    ...benchDataplaneOptions({ keepAliveTimeoutMs: 5_000 }),
    ...(all ? { observer: obs.dataplane } : {}),
  });
  await dp.start();
  if (all) obs.attach(dp);
  const affinity = all ? { affinity: { cookie: { name: 'SRV' } } } : {};
  dp.apply(
    buildSnapshot({
      hosts: [
        { hostname: 'app.test', routes: [{ backend: 'app' }] },
        // A TLS host: plain-HTTP requests to it get the 308 to https:// (--scenario redirect).
        { hostname: 'tls.test', tls: true, routes: [{ backend: 'app' }] },
      ],
      backends: [{ id: 'app', endpoints: ports, ...affinity }],
    }),
  );
  return {
    name,
    port: dp.ports.http,
    close: async () => {
      await dp.shutdown({ drainTimeoutMs: 1_000 });
      await obs.close();
    },
  };
}

const REDIRECT = args.scenario === 'redirect';
const HOST = REDIRECT ? 'tls.test' : 'app.test';
const TARGET = REDIRECT ? '/some/page?q=1' : '/';
const REQUEST = `GET ${TARGET} HTTP/1.1\r\nHost: ${HOST}\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n`;
const EXPECTED = REDIRECT ? 'HTTP/1.1 308' : 'HTTP/1.1 200';
// node-raw proxies every request: it has no redirect to compare with (bench/lib/node-hello.ts is that floor).
if (REDIRECT && args.floor === true)
  throw new Error('--floor measures the proxied path only, not --scenario redirect');

/** `total` requests over 32 keep-alive connections (no cookie: every response pins with Set-Cookie). */
async function load(port: number, total: number): Promise<number> {
  let sent = 0;
  let bad = 0;
  const one = (): Promise<void> =>
    new Promise((done, fail) => {
      const s: Socket = connect({ host: '127.0.0.1', port, noDelay: true });
      let pending = '';
      const next = () => {
        if (sent >= total) {
          s.end();
          done();
          return;
        }
        sent++;
        s.write(REQUEST);
      };
      s.on('connect', next);
      s.on('error', fail);
      s.on('data', (d: Buffer) => {
        pending += d.toString('latin1');
        for (;;) {
          const end = pending.indexOf('\r\n\r\n');
          if (end < 0) return;
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
          if (pending.length < end + 4 + length) return;
          if (!pending.startsWith(EXPECTED)) bad++;
          pending = pending.slice(end + 4 + length);
          next();
        }
      });
    });
  await Promise.all(Array.from({ length: 32 }, one));
  return bad;
}

const ups = [await upstream(), await upstream()];
const ports: [number, number] = [ups[0]!.port, ups[1]!.port];
const sides = [await startSide('current', REPO, ports)];
if (args.base !== undefined) sides.push(await startSide('base', resolve(args.base), ports));
if (args.floor === true) {
  const raw = await startNodeRaw(0, ports);
  const port = (raw.server.address() as { port: number }).port;
  sides.push({ name: 'node-raw', port, close: () => raw.close() });
}
const total = Number(args.requests);
const figures = new Map<string, number[]>();
for (let round = 0; round < Number(args.repeat); round++) {
  for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
    await load(side.port, 2_000); // warm-up: JIT, pools
    const before = process.cpuUsage();
    const bad = await load(side.port, total);
    const used = process.cpuUsage(before);
    const us = (used.user + used.system) / total;
    figures.set(side.name, [...(figures.get(side.name) ?? []), us]);
    console.log(
      `round ${round} ${side.name.padEnd(8)} ${us.toFixed(1).padStart(6)} µs/req  unexpected ${bad}`,
    );
  }
}
console.log('\nmedian / min µs of CPU per request (proxy + clients + upstreams, one process):');
for (const [name, v] of figures) {
  const s = [...v].sort((a, b) => a - b);
  console.log(`${name.padEnd(8)} ${s[Math.floor(s.length / 2)]!.toFixed(1)} / ${s[0]!.toFixed(1)}`);
}
if (args.alloc !== undefined) {
  for (const side of sides) {
    const sampling = await startSampling();
    await load(side.port, total);
    await printAllocations(sampling, side.name, total, Number(args.alloc));
  }
}
for (const side of sides) await side.close();
for (const u of ups) u.server.close();

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/** The sampling heap profiler, keeping the samples of objects the collectors have freed since. */
async function startSampling(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return session;
}

/** Bytes per request by allocation site (function, file:line), the top `n`, and the total. */
async function printAllocations(session: Session, side: string, requests: number, n: number): Promise<void> {
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as {
    profile: { head: SamplingNode };
  };
  session.disconnect();
  const sites = new Map<string, number>();
  let all = 0;
  const walk = (x: SamplingNode) => {
    const f = x.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules\/)?/, '')}:${f.lineNumber + 1}`;
    sites.set(key, (sites.get(key) ?? 0) + x.selfSize);
    all += x.selfSize;
    for (const c of x.children) walk(c);
  };
  walk(profile.head);
  console.log(
    `allocated while ${side} served ${requests} requests: ${(all / requests).toFixed(0)} B per request; top sites:`,
  );
  for (const [key, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`  ${(bytes / requests).toFixed(0).padStart(6)} B  ${key}`);
  }
}
