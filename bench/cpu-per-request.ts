/**
 * Noise-robust per-request cost for iterating on the hot path: the proxy's own CPU time (utime+stime of its
 * process tree from /proc) divided by the requests wrk completed, next to req/s and p99. On a shared machine
 * req/s moves with the neighbours; CPU-µs per request moves much less.
 * Usage: node bench/cpu-per-request.ts [--only sticky,node-bare,node-raw,node-hello,haproxy] [--scenarios http,https,redirect,h2]
 *        [--seconds 5] [--repeat 1] [--profile DIR] [--perf DIR] [--base DIR] [--node-options S] [--base-node-options S]
 *   --profile: Node contestants run with --cpu-prof into DIR (wall-time samples).
 *   --perf: Node contestants run with --perf-basic-prof, and `perf record -g` samples each measured run of
 *   every contestant into DIR/<contestant>-<scenario>-<round>.data (real CPU; read it with
 *   bench/perf-attribution.ts; V8 also leaves isolate-*-v8.log files in the working directory, gitignored).
 *   --base: also run the sticky contestants from the checkout in DIR (e.g. `git archive` of an older commit
 *   with node_modules linked), interleaved, for A/B.
 * Same layout as bench/run.ts: proxy on core 0; wrk (-t1 -c64) or, for h2, h2load (-c64 -m10) and backends on
 * core 1. `--only sticky,sticky-h2 --scenarios https,h2`: what --http2 costs HTTP/1.1 clients, and h2's cost.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  backendNginxConf,
  HTTP_HOST,
  makeCertificate,
  TLS_HOST,
  type Topology,
  writeCertFiles,
} from './lib/configs.ts';
import { CONTESTANTS, EXTRA_CONTESTANTS, type RunningProxy, type ScenarioId } from './lib/contestants.ts';
import { runH2load } from './lib/h2load.ts';
import { freePorts, ProcessGroup, pinSelf, processTree, waitForPort } from './lib/procs.ts';
import { median } from './lib/stats.ts';
import { pairedRatioRounds, type RunRecord } from './lib/table.ts';
import { runWrk } from './lib/wrk.ts';

const REPO = resolve(new URL('..', import.meta.url).pathname);
const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: 'sticky,node-bare,haproxy' },
    scenarios: { type: 'string', default: 'http,https,redirect' },
    seconds: { type: 'string', default: '5' },
    repeat: { type: 'string', default: '1' },
    profile: { type: 'string' },
    perf: { type: 'string' },
    base: { type: 'string' },
    'node-options': { type: 'string' },
    'base-node-options': { type: 'string' },
  },
});

const procs = new ProcessGroup();
procs.installCleanup();
pinSelf('1');
const dir = procs.tempDir();
const cert = await makeCertificate();
const [f1, f2, n1, n2] = (await freePorts(4)) as [number, number, number, number];
const t: Topology = { dir, ...cert, fast: [f1, f2], node: [n1, n2] };
writeCertFiles(t);
writeFileSync(join(dir, 'backend-nginx.conf'), backendNginxConf(t));
const nginx = procs.spawn(
  {
    name: 'backend-nginx',
    cmd: 'nginx',
    args: ['-p', dir, '-e', 'stderr', '-c', join(dir, 'backend-nginx.conf')],
    cpu: '1',
  },
  dir,
);
await Promise.all([waitForPort(f1, nginx), waitForPort(f2, nginx)]);

const profilerFlags = [
  args.profile === undefined ? '' : `--cpu-prof --cpu-prof-dir=${resolve(args.profile)}`,
  args.perf === undefined ? '' : '--perf-basic-prof',
].join(' ');
for (const d of [args.profile, args.perf]) if (d !== undefined) mkdirSync(resolve(d), { recursive: true });
/** Node contestants inherit process.env: NODE_OPTIONS set around each start() reaches only that process. */
const withNodeOptions = async <T>(options: string, start: () => Promise<T>): Promise<T> => {
  if (options.trim() === '') return start();
  process.env.NODE_OPTIONS = options;
  try {
    return await start();
  } finally {
    delete process.env.NODE_OPTIONS;
  }
};

const ids = (args.only ?? '').split(',');
const running = new Map<string, RunningProxy>();
/** Scenarios each bench-only Node script answers (node-bare: http; node-hello: http, redirect). */
const nodeScenarios = new Map<string, ReadonlySet<string>>();
for (const c of [...CONTESTANTS, ...EXTRA_CONTESTANTS].filter((x) => ids.includes(x.id))) {
  const ctx = { topology: t, procs, cpu: '0', repo: REPO };
  running.set(
    c.id,
    await withNodeOptions(`${profilerFlags} ${args['node-options'] ?? ''}`, () => c.start(ctx)),
  );
  if (c.id.startsWith('node-')) nodeScenarios.set(c.id, c.scenarios);
  // --base DIR: the same contestant from another checkout (e.g. `git archive` of the commit before), for A/B.
  if (args.base !== undefined && c.id.startsWith('sticky')) {
    const base = { ...ctx, repo: resolve(args.base) };
    const options = `${profilerFlags} ${args['base-node-options'] ?? ''}`;
    running.set(`${c.id}@base`, await withNodeOptions(options, () => c.start(base)));
  }
}

const seconds = Number(args.seconds);
/** µs/req and req/s of every run, by `scenario contestant`, for the summary. */
const runs = new Map<string, { us: number[]; rps: number[] }>();
/** Every run as the bench's records (requests per CPU-second as req/s on one core): the paired ratios. */
const records: RunRecord[] = [];
for (let round = 0; round < Number(args.repeat); round++) {
  // Every second round runs the contestants in reverse order, so a host that drifts during a round favours
  // neither side of a pair.
  const order = round % 2 === 0 ? [...running] : [...running].reverse();
  for (const scenario of (args.scenarios ?? '').split(',')) {
    for (const [id, proxy] of order) {
      if (nodeScenarios.get(id)?.has(scenario) === false) continue;
      // h2 only where ALPN h2 is offered: HAProxy, nginx, and sticky-ingress with --http2 (sticky-h2).
      if (scenario === 'h2' && id.startsWith('sticky') && !id.includes('h2')) continue;
      const measure = loadFor(scenario, proxy);
      await measure(1); // warm-up: JIT, pools
      const cpu0 = userSys(proxy.proc.pid);
      const perf = recordPerf(id, scenario, round, proxy.proc.pid);
      const r = await measure(seconds);
      const cpu1 = userSys(proxy.proc.pid);
      await perf?.done;
      const user = cpu1.user - cpu0.user;
      const cpu = user + cpu1.sys - cpu0.sys;
      const usPerReq = (cpu * 1e6) / Math.max(1, r.requests);
      const key = `${scenario.padEnd(9)} ${id.padEnd(12)}`;
      const seen = runs.get(key) ?? { us: [], rps: [] };
      seen.us.push(usPerReq);
      seen.rps.push(r.requestsPerSec);
      runs.set(key, seen);
      const figures = { rps: 1e6 / usPerReq, proxyCpu: 1 };
      records.push({ round, scenario: scenario as ScenarioId, contestant: id, figures });
      console.log(
        `${scenario.padEnd(9)} ${id.padEnd(12)} ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  ` +
          `${r.latency}  ` +
          `cpu ${(cpu / seconds).toFixed(2)}  ${usPerReq.toFixed(1).padStart(6)} µs/req ` +
          `(user ${((user * 1e6) / Math.max(1, r.requests)).toFixed(1)})  ` +
          `errors ${r.errors}`,
      );
    }
  }
}
if (Number(args.repeat) > 1) {
  // Contention from other processes only ever adds time: the minimum is the most repeatable figure.
  console.log('\nsummary: min / median µs per request, max req/s');
  for (const [key, { us, rps }] of runs) {
    const sorted = [...us].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    console.log(
      `${key} ${(sorted[0] as number).toFixed(1).padStart(6)} / ${median.toFixed(1).padStart(6)} µs/req  ` +
        `${Math.max(...rps)
          .toFixed(0)
          .padStart(7)} req/s`,
    );
  }
  printPairedRatios(records, [...running.keys()]);
}
if (args.profile !== undefined) await sleep(100);

/** One measured run: requests completed, their rate, latency as the load tool reports it, failures. */
interface LoadRun {
  requests: number;
  requestsPerSec: number;
  latency: string;
  errors: number;
}

/**
 * The load of `scenario` against `proxy` for a given duration: wrk (-t1 -c64, HTTP/1.1) for http, https and
 * redirect; h2load (-c64 -m10, ALPN h2) for h2.
 */
function loadFor(scenario: string, proxy: RunningProxy): (s: number) => Promise<LoadRun> {
  const { http, https } = proxy.ports;
  if (scenario === 'h2') {
    return async (s) => {
      const o = { url: `https://${TLS_HOST}:${https}/`, connectTo: `127.0.0.1:${https}` };
      const r = await runH2load({ ...o, seconds: s, clients: 64, streams: 10, cpu: '1' });
      const latency = `mean ${r.meanMs.toFixed(2).padStart(6)} ms  sd ${r.sdMs.toFixed(2).padStart(7)} ms`;
      return { ...r, latency, errors: r.failed + r.non2xx3xx };
    };
  }
  const url = scenario === 'https' ? `https://127.0.0.1:${https}/` : `http://127.0.0.1:${http}/`;
  const host = scenario === 'http' ? HTTP_HOST : TLS_HOST;
  const wrk = { url, connections: 64, cpu: '1', headers: [`Host: ${host}`] };
  return async (s) => {
    const r = await runWrk({ ...wrk, seconds: s });
    const latency = `p50 ${r.p50Ms.toFixed(2).padStart(6)} ms  p99 ${r.p99Ms.toFixed(2).padStart(7)} ms`;
    return { ...r, latency, errors: r.non2xx3xx + r.socketErrors };
  };
}

/**
 * `perf record -g` of `pid` (all its threads) for the measured run's duration, when --perf is given; the
 * caller awaits `done` after the run so the file is complete before the next one.
 */
function recordPerf(
  id: string,
  scenario: string,
  round: number,
  pid: number,
): { done: Promise<void> } | undefined {
  if (args.perf === undefined) return undefined;
  const out = join(resolve(args.perf), `${id.replace('@', '-')}-${scenario}-${round}.data`);
  const p = procs.spawn(
    {
      name: `perf-${id}`,
      cmd: 'perf',
      args: [
        'record',
        '-e',
        'cpu-clock',
        '-F',
        '1999',
        '-g',
        '-p',
        String(pid),
        '-o',
        out,
        '--',
        'sleep',
        String(seconds),
      ],
      cpu: '1',
    },
    dir,
  );
  return { done: new Promise((resolveDone) => p.child.once('exit', () => resolveDone())) };
}

/** User and system CPU seconds of `pid`'s process tree (USER_HZ = 100 on every Linux ABI Node supports). */
function userSys(pid: number): { user: number; sys: number } {
  let user = 0;
  let sys = 0;
  for (const p of processTree(pid)) {
    try {
      const text = readFileSync(`/proc/${p}/stat`, 'utf8');
      const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
      user += Number(rest[11]) / 100;
      sys += Number(rest[12]) / 100;
    } catch {
      // exited meanwhile
    }
  }
  return { user, sys };
}
await procs.close();

/**
 * The host this runs on can swing 2x within minutes, and not equally for every contestant, so a ratio of two
 * medians pairs runs from different moments. Here each round's run of one scenario is paired with the first
 * contestant's run of the same round (seconds apart): requests per CPU-second relative to it, median and range
 * over the rounds (bench/lib/table.ts pairedRatioRounds, as `npm run bench`'s paired row).
 */
function printPairedRatios(runs: readonly RunRecord[], ids: string[]): void {
  const first = ids[0];
  if (first === undefined || ids.length < 2) return;
  console.log(`\npaired: requests per CPU-second relative to ${first} in the same round, median [min, max]`);
  for (const [scenario, byContestant] of Object.entries(pairedRatioRounds(runs, first))) {
    for (const id of ids.slice(1)) {
      const ratios = byContestant[id];
      if (ratios === undefined || ratios.length === 0) continue;
      console.log(
        `${scenario.padEnd(9)} ${id.padEnd(12)} ${median(ratios).toFixed(2)}x [${Math.min(...ratios).toFixed(2)}, ` +
          `${Math.max(...ratios).toFixed(2)}] over ${ratios.length} rounds`,
      );
    }
  }
}
