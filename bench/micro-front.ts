/**
 * Interleaved CPU-time A/B of the front side of a request that gets a local answer (issue 13, redirects):
 * the request facts, decide() and the Exchange with its 308 on a stand-in request/response, and the observer
 * (metrics, /stats tallies, the access-log line) on a finished record, this checkout against another.
 * Pure computation in one thread, so a loaded machine moves it much less than a proxy measured with wrk.
 * Usage: node bench/micro-front.ts --base DIR [--repeat 7]   (DIR: another checkout, node_modules linked)
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { type Case, printInterleavedAB } from './lib/micro-ab.ts';

const { values: args } = parseArgs({
  options: { base: { type: 'string' }, repeat: { type: 'string', default: '7' } },
});
if (args.base === undefined) throw new Error('usage: node bench/micro-front.ts --base DIR [--repeat 7]');
const roots = { current: resolve(new URL('..', import.meta.url).pathname), base: resolve(args.base) };

/** What node:http hands the handler, reduced to what the front side reads (a fresh object per request). */
function fakeRequest(): object {
  const headers = { host: 'tls.test', 'user-agent': 'bench', accept: '*/*' };
  return { method: 'GET', url: '/some/page?q=1', headers, socket: { remoteAddress: '127.0.0.1' } };
}

async function cases(root: string): Promise<Case[]> {
  const { Dataplane } = await import(`${root}/src/dataplane/dataplane.ts`);
  const { requestFacts, recordDecision } = await import(`${root}/src/dataplane/front/request-facts.ts`);
  const { decide } = await import(`${root}/src/dataplane/routing/decide.ts`);
  const { compileSnapshot } = await import(`${root}/src/dataplane/routing/compile.ts`);
  const { CidrSet } = await import(`${root}/src/dataplane/front/cidr.ts`);
  const { createObservability } = await import(`${root}/src/dataplane/observe/observability.ts`);
  const { RequestRecord } = await import(`${root}/src/dataplane/observe/observer.ts`);
  const { createRegistry } = await import(`${root}/src/shared/metrics-registry.ts`);
  const { buildSnapshot } = await import(`${root}/test/dataplane/helpers/snapshot.ts`);
  // The access log's serialisation and batching, to a destination that drops the batch (the write is fs's).
  const sink = { write: (_s: string) => true };
  const obs = createObservability({
    registry: createRegistry({ processMetrics: false }),
    accessLog: { destination: sink },
  });
  const dp = new Dataplane({
    bindAddress: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    affinityKey: Buffer.alloc(32),
    trustedProxies: [],
    maxHeaderSize: 16_384,
    requestHeaderTimeoutMs: 10_000,
    keepAliveTimeoutMs: 60_000,
    logger: pino({ level: 'silent' }),
    observer: obs.dataplane,
  });
  const snapshot = buildSnapshot({
    hosts: [{ hostname: 'tls.test', tls: true, routes: [{ backend: 'app' }] }],
    backends: [{ id: 'app', endpoints: [1001, 1002] }],
  });
  dp.apply(snapshot);
  obs.attach(dp);
  const config = compileSnapshot(snapshot, () => ({}));
  const trusted = new CidrSet([]);
  const port = () => 8443;
  const record = new RequestRecord();
  Object.assign(record, {
    clientAddress: '127.0.0.1',
    startTime: Date.now(),
    host: 'tls.test',
    method: 'GET',
    path: '/some/page',
    status: 308,
    totalMs: 0.123,
    routeId: dp.current.hosts[0].routes[0].id,
    backendId: 'app',
    sourceNamespace: 'default',
    sourceName: 'app',
  });
  return [
    {
      name: 'requestFacts + decide (308)',
      calls: 500_000,
      run() {
        let s = 0;
        for (let i = 0; i < this.calls; i++) {
          const { facts, record } = requestFacts(fakeRequest(), false, trusted, port, 'none', true);
          const d = decide(config, facts);
          recordDecision(record, d);
          s += d.kind === 'redirect' ? 1 : 0;
        }
        return s;
      },
    },
    {
      name: 'observer.onRequest',
      calls: 500_000,
      run() {
        let s = 0;
        for (let i = 0; i < this.calls; i++) {
          record.startTime += 1;
          obs.dataplane.onRequest(record);
          s++;
        }
        return s;
      },
    },
  ];
}

const sides = { current: await cases(roots.current), base: await cases(roots.base) };
printInterleavedAB(sides, Number(args.repeat), 34);
process.exit(0);
