/**
 * Interleaved CPU-time A/B of single functions on the HTTP path, this checkout against another (issue 13
 * item 2): the response head parser and the pool lookup, per call. Pure computation in one thread, so a
 * loaded machine moves it much less than a proxy measured with wrk. Medians of `--repeat` rounds.
 * Usage: node bench/micro-hot-path.ts --base DIR [--repeat 7]   (DIR: another checkout, node_modules linked)
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Case, printInterleavedAB } from './lib/micro-ab.ts';

const { values: args } = parseArgs({
  options: { base: { type: 'string' }, repeat: { type: 'string', default: '7' } },
});
if (args.base === undefined) throw new Error('usage: node bench/micro-hot-path.ts --base DIR [--repeat 7]');
const roots = { current: resolve(new URL('..', import.meta.url).pathname), base: resolve(args.base) };

// What the bench's nginx backend answers, and a typical application response.
const HEADS = [
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 29 Nov 2026 08:40:00 GMT\r\nContent-Type: text/plain\r\n' +
    'Content-Length: 2\r\nConnection: keep-alive',
  'HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 120\r\nETag: W/"78-abc"\r\n' +
    'Date: Sun, 29 Nov 2026 08:40:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5',
];

async function cases(root: string): Promise<Case[]> {
  const { parseResponseHead } = await import(`${root}/src/dataplane/upstream/h1-parser.ts`);
  const { PoolMap } = await import(`${root}/src/dataplane/http/http-proxy.ts`);
  const { Upstreams } = await import(`${root}/src/dataplane/upstream/upstreams.ts`);
  const { buildSnapshot } = await import(`${root}/test/dataplane/helpers/snapshot.ts`);
  const snapshot = buildSnapshot({
    hosts: [{ hostname: 'a.test', routes: [{ backend: 'app' }] }],
    backends: [{ id: 'app', endpoints: [1001, 1002] }],
  });
  const upstreams = new Upstreams({ affinityKey: Buffer.alloc(32) });
  upstreams.update(snapshot.backends, snapshot.certificates);
  const backend = upstreams.backend('app');
  const endpoints = backend.members.map((m: { state: unknown }) => m.state);
  const pools = new PoolMap({});
  return [
    {
      name: 'parseResponseHead',
      calls: 200_000,
      run() {
        let s = 0;
        for (let i = 0; i < this.calls; i++) s += parseResponseHead(HEADS[i & 1], 'GET').status;
        return s;
      },
    },
    {
      name: 'PoolMap.get',
      calls: 2_000_000,
      run() {
        let s = 0;
        for (let i = 0; i < this.calls; i++) if (pools.get(endpoints[i & 1], backend) !== undefined) s++;
        return s;
      },
    },
  ];
}

const sides = { current: await cases(roots.current), base: await cases(roots.base) };
printInterleavedAB(sides, Number(args.repeat), 18);
