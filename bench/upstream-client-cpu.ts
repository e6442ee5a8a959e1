/**
 * A/B of the upstream HTTP/1.1 client (`--upstream-client raw|undici`): the proxy's own CPU time per request
 * (utime+stime of its process tree from /proc, as bench/cpu-per-request.ts), which contention from other
 * processes inflates much less than req/s. Needs neither wrk nor nginx: node backends (bench/lib/backend-node.ts)
 * and an in-process undici load generator (64 keep-alive connections, a fixed request count per round).
 * Usage: node bench/upstream-client-cpu.ts [--requests 20000] [--repeat 3]
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { HTTP_HOST, makeCertificate, type Topology, writeCertFiles } from './lib/configs.ts';
import { CONTESTANTS, type RunningProxy } from './lib/contestants.ts';
import { freePorts, ProcessGroup, processTree, waitForPort } from './lib/procs.ts';

const REPO = resolve(new URL('..', import.meta.url).pathname);
const { values: args } = parseArgs({
  options: { requests: { type: 'string', default: '20000' }, repeat: { type: 'string', default: '3' } },
});

const procs = new ProcessGroup();
procs.installCleanup();
const dir = procs.tempDir();
const cert = await makeCertificate();
const [f1, f2, n1, n2] = (await freePorts(4)) as [number, number, number, number];
const t: Topology = { dir, ...cert, fast: [f1, f2], node: [n1, n2] };
writeCertFiles(t);
const backend = procs.spawn(
  {
    name: 'backend-node',
    cmd: process.execPath,
    args: [join(REPO, 'bench/lib/backend-node.ts'), String(f1), String(f2)],
  },
  dir,
);
await Promise.all([waitForPort(f1, backend), waitForPort(f2, backend)]);

const sticky = CONTESTANTS.find((c) => c.id === 'sticky');
if (sticky === undefined) throw new Error('no sticky contestant');
const running = new Map<string, RunningProxy>();
for (const client of ['raw', 'undici']) {
  // The contestant inherits process.env: the variable reaches only the process started here (cmd/config.ts).
  process.env.STICKY_INGRESS_UPSTREAM_CLIENT = client;
  running.set(client, await sticky.start({ topology: t, procs, cpu: '0', repo: REPO }));
  delete process.env.STICKY_INGRESS_UPSTREAM_CLIENT;
}

const total = Number(args.requests);
const results = new Map<string, number[]>();
for (let round = 0; round < Number(args.repeat); round++) {
  for (const [client, proxy] of running) {
    await load(proxy.ports.http, 2_000); // warm-up: JIT, pools
    const cpu0 = cpuSeconds(proxy.proc.pid);
    const errors = await load(proxy.ports.http, total);
    const us = ((cpuSeconds(proxy.proc.pid) - cpu0) * 1e6) / total;
    results.set(client, [...(results.get(client) ?? []), us]);
    console.log(`round ${round} ${client.padEnd(6)} ${us.toFixed(1).padStart(6)} µs/req  errors ${errors}`);
  }
}
console.log(
  '\nsummary: min / median µs of proxy CPU per request (contention only adds: min is the repeatable figure)',
);
for (const [client, us] of results) {
  const s = [...us].sort((a, b) => a - b);
  console.log(
    `${client.padEnd(6)} ${(s[0] as number).toFixed(1)} / ${(s[Math.floor(s.length / 2)] as number).toFixed(1)}`,
  );
}
await procs.close();

/** Sends `n` GETs over 64 keep-alive connections; returns how many failed or were not 200. */
async function load(port: number, n: number): Promise<number> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 64, pipelining: 1 });
  let next = 0;
  let errors = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        const r = await pool.request({ path: '/', method: 'GET', headers: { host: HTTP_HOST } });
        await r.body.dump();
        if (r.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  await pool.close();
  return errors;
}

function cpuSeconds(pid: number): number {
  let s = 0;
  for (const p of processTree(pid)) {
    try {
      const rest = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      s += (Number(rest[11]) + Number(rest[12])) / 100;
    } catch {
      // exited meanwhile
    }
  }
  return s;
}
