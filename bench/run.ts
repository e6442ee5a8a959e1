/**
 * `npm run bench`: sticky-ingress against HAProxy and nginx on loopback, each proxy pinned to core 0 and
 * wrk, the Node clients and the backends on core 1; interleaved rounds, medians, ratios to HAProxy.
 * Flags: --quick (about a minute), --rounds N, --only id,id (may name an extra contestant, e.g. sticky-young64),
 * --scenarios id,id, --handshake-client node,
 * --no-control (skip bench/control-plane.ts, which otherwise runs last). Scenario `passthrough` is the SSL
 * passthrough bench (bench/lib/passthrough.ts: terminating hosts without/with a passthrough host, the relay
 * vs HAProxy `mode tcp`); `--scenarios passthrough` runs it alone. Scenario `h2`: h2load, 64 connections x 10
 * streams, ALPN h2, against HAProxy (`alpn h2,http/1.1`), nginx (`listen ... http2`) and `sticky-h2` (`--http2 true`).
 * Prints the table; writes bench/out/bench-<time>.json. See bench/RESULTS.md.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { backendNginxConf, makeCertificate, type Topology, writeCertFiles } from './lib/configs.ts';
import {
  CONTESTANTS,
  type Contestant,
  EXTRA_CONTESTANTS,
  type RunningProxy,
  type ScenarioId,
} from './lib/contestants.ts';
import { repoImageNodeFlags } from './lib/image-node-flags.ts';
import { runPassthroughBench } from './lib/passthrough.ts';
import { probe } from './lib/probe.ts';
import { freePorts, ProcessGroup, pinSelf, waitForPort } from './lib/procs.ts';
import { runScenario, type ScenarioContext, type Settings } from './lib/scenarios.ts';
import { formatTable, mediansOf, pairedRatios, type RunRecord } from './lib/table.ts';
import { type IdlePlan, openFilesLimit, planIdleTunnels, singleProcessRefusal } from './lib/ws-idle-plan.ts';

const REPO = dirname(dirname(new URL(import.meta.url).pathname));
const PROXY_CPU = '0';
const LOAD_CPU = '1';
const ROUND_SCENARIOS: ScenarioId[] = ['http', 'https', 'h2', 'handshake', 'redirect', 'ws-echo', 'socketio'];

const FULL: Settings = {
  rounds: 3,
  httpSeconds: 10,
  seconds: 4,
  connections: 64,
  h2Clients: 64,
  h2Streams: 10,
  wsEchoConnections: 8,
  socketIoConcurrency: 32,
  handshakeConcurrency: 32,
  idleTunnels: 2000,
  settleMs: 2000,
  loadCpu: LOAD_CPU,
  handshakeClient: 'wrk',
};
const QUICK: Settings = { ...FULL, rounds: 1, httpSeconds: 2, seconds: 2, idleTunnels: 500, settleMs: 1000 };

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    scenarios: { type: 'string' },
    'handshake-client': { type: 'string', default: 'wrk' },
    'no-control': { type: 'boolean', default: false },
    // ws-idle knobs (issue 13 item 4): tunnel count, TLS tunnels, and how long to wait after close.
    tunnels: { type: 'string' },
    wss: { type: 'boolean', default: false },
    'close-settle': { type: 'string' },
  },
});

/** Debian package of each load tool and proxy the bench runs. */
const TOOLS: Record<string, string> = {
  haproxy: 'haproxy',
  nginx: 'nginx',
  wrk: 'wrk',
  h2load: 'nghttp2-client',
};

/** Installs haproxy, nginx, wrk and h2load from Debian when one is missing (needs root and apt-get). */
function ensureTools(): void {
  const missing = Object.keys(TOOLS).filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length === 0) return;
  console.error(`installing ${missing.join(' ')} (apt-get)`);
  const packages = missing.map((t) => TOOLS[t] as string);
  execFileSync('apt-get', ['install', '-y', ...packages], { stdio: 'inherit' });
}

function versions(): Record<string, string> {
  const first = (cmd: string, a: string[]) => {
    const r = spawnSync(cmd, a, { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`.split('\n').find((l) => l.trim() !== '') ?? '?';
  };
  return {
    node: process.version,
    haproxy: first('haproxy', ['-v']),
    nginx: first('nginx', ['-v']),
    wrk: first('wrk', ['-v']),
    h2load: first('h2load', ['--version']),
    cpu: cpus()[0]?.model ?? '?',
    cores: String(cpus().length),
    kernel: first('uname', ['-r']),
  };
}

/** Backends: nginx for plain requests, Node (WebSocket echo, socket.io) in one process or one per port. */
async function startBackends(procs: ProcessGroup, dir: string, nodeProcesses: number): Promise<Topology> {
  const cert = await makeCertificate();
  const [f1, f2, n1, n2] = (await freePorts(4)) as [number, number, number, number];
  const t: Topology = { dir, ...cert, fast: [f1, f2], node: [n1, n2] };
  writeCertFiles(t);
  const conf = join(dir, 'backend-nginx.conf');
  writeFileSync(conf, backendNginxConf(t));
  const nginx = procs.spawn(
    { name: 'backend-nginx', cmd: 'nginx', args: ['-p', dir, '-e', 'stderr', '-c', conf], cpu: LOAD_CPU },
    dir,
  );
  // One process holds one descriptor per tunnel: past the open-files limit (ws-idle plan), one per port.
  const groups = nodeProcesses > 1 ? [[n1], [n2]] : [[n1, n2]];
  const waits = groups.flatMap((group, i) => {
    const nodeArgs = [join(REPO, 'bench/lib/backend-node.ts'), ...group.map(String)];
    const name = groups.length > 1 ? `backend-node-${i}` : 'backend-node';
    const node = procs.spawn({ name, cmd: process.execPath, args: nodeArgs, cpu: LOAD_CPU }, dir);
    return group.map((port) => waitForPort(port, node));
  });
  await Promise.all([waitForPort(f1, nginx), waitForPort(f2, nginx), ...waits]);
  return t;
}

async function startContestants(
  list: readonly Contestant[],
  t: Topology,
  procs: ProcessGroup,
  processes: number,
) {
  const running = new Map<string, RunningProxy>();
  const skipped: Record<string, string> = {};
  for (const c of list) {
    try {
      const ctx = { topology: t, procs, cpu: PROXY_CPU, repo: REPO };
      const proxy = await c.start(processes > 1 && c.multiProcess ? { ...ctx, processes } : ctx);
      // The node-* references are bare proxies without routing, TLS or affinity: nothing to check. The
      // sticky-route* rungs of the feature ladder have affinity off by design: no cookie to check.
      const affinity = !c.id.startsWith('sticky-route');
      const problems = c.id.startsWith('node-') ? [] : await probe(proxy.ports, { affinity });
      if (problems.length > 0) throw new Error(problems.join('; '));
      running.set(c.id, proxy);
    } catch (err) {
      skipped[c.id] = (err as Error).message;
      console.error(`skipping ${c.id}: ${skipped[c.id]}`);
    }
  }
  return { running, skipped };
}

/** Every contestant the bench can start, in table order: the default ones, then the extras. */
const KNOWN: readonly Contestant[] = [...CONTESTANTS, ...EXTRA_CONTESTANTS];

async function measureAll(
  settings: Settings,
  running: Map<string, RunningProxy>,
  scenarios: ScenarioId[],
  ctx: ScenarioContext & { notes: string[] },
) {
  const records: RunRecord[] = [];
  const runOne = async (round: number, scenario: ScenarioId, c: Contestant) => {
    const proxy = running.get(c.id);
    if (!proxy || !c.scenarios.has(scenario)) return;
    if (scenario === 'ws-idle' && !c.multiProcess) {
      // No faked row: a one-process proxy past the open-files limit is left out, and the table says why.
      const refusal = singleProcessRefusal(settings.idleTunnels, openFilesLimit());
      if (refusal !== undefined) {
        ctx.notes.push(`ws-idle ${settings.idleTunnels} tunnels: ${c.id} not measured: ${refusal}`);
        return;
      }
    }
    const figures = await runScenario(scenario, proxy, settings, ctx);
    records.push({ round, scenario, contestant: c.id, figures });
    const main = figures.rps ?? figures.perSec ?? figures.msgsPerSec ?? figures.kibPerTunnel ?? Number.NaN;
    console.error(
      `round ${round} ${scenario} ${c.id}: ${main.toFixed(1)} (proxy cpu ${(figures.proxyCpu ?? 0).toFixed(2)})`,
    );
  };
  // Memory per idle tunnel is a level, not a rate: once per proxy, first, while each process is fresh
  // (after the throughput rounds a Node heap shrinking under GC would hide the tunnels' cost).
  if (scenarios.includes('ws-idle')) for (const c of KNOWN) await runOne(1, 'ws-idle', c);
  // Interleaved: each round visits every scenario and, within it, every contestant; every second round in
  // reverse order (A B C, C B A, ...), so a host that drifts during a round favours no contestant.
  for (let round = 1; round <= settings.rounds; round++) {
    const order = round % 2 === 1 ? KNOWN : [...KNOWN].reverse();
    for (const scenario of scenarios.filter((s) => s !== 'ws-idle')) {
      for (const c of order) await runOne(round, scenario, c);
    }
  }
  return records;
}

async function main(): Promise<void> {
  const settings: Settings = { ...(args.quick ? QUICK : FULL) };
  if (args.rounds) settings.rounds = Number(args.rounds);
  if (args.tunnels) settings.idleTunnels = Number(args.tunnels);
  if (args.wss) settings.idleTls = true;
  if (args['close-settle']) settings.closeSettleMs = Number(args['close-settle']);
  if (args['handshake-client'] === 'node') settings.handshakeClient = 'node';
  const only = args.only?.split(',');
  // An extra contestant (cpu-per-request's) runs only when --only names it.
  const list = KNOWN.filter((c) => (only ? only.includes(c.id) : CONTESTANTS.includes(c)));
  const asked = args.scenarios?.split(',') ?? [...ROUND_SCENARIOS, 'ws-idle', 'passthrough'];
  const passthrough = asked.includes('passthrough');
  const scenarios = asked.filter((s) => s !== 'passthrough') as ScenarioId[];
  ensureTools();
  if (cpus().length < 2) throw new Error('needs at least 2 CPUs (proxy on core 0, load on core 1)');
  const procs = new ProcessGroup();
  procs.installCleanup();
  pinSelf(LOAD_CPU);
  const started = Date.now();
  try {
    if (passthrough) await passthroughBench(settings, procs);
    if (scenarios.length === 0) return;
    const dir = procs.tempDir();
    const plan = idlePlan(settings, scenarios);
    const topology = await startBackends(procs, dir, plan.backendProcesses);
    const { running, skipped } = await startContestants(list, topology, procs, plan.proxyProcesses);
    const notes: string[] = [];
    const records = await measureAll(settings, running, scenarios, { procs, dir, notes });
    const medians = mediansOf(records);
    const paired = pairedRatios(records, 'haproxy');
    const ids = list.map((c) => c.id).filter((id) => running.has(id));
    console.log(formatTable(medians, ids, 'haproxy', paired));
    for (const note of notes) console.log(note);
    const outDir = join(REPO, 'bench/out');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const meta = {
      mode: args.quick ? 'quick' : 'full',
      settings,
      versions: versions(),
      skipped,
      notes,
      seconds: (Date.now() - started) / 1000,
    };
    writeFileSync(file, JSON.stringify({ ...meta, medians, paired, records }, null, 2));
    console.error(`wrote ${file} (${meta.seconds.toFixed(0)} s)`);
  } finally {
    await procs.close();
  }
  if (!args['no-control']) await runControlPlane();
}

/**
 * The ws-idle process plan under this process's open-files limit (children inherit it); 2,000 tunnels fit in
 * one process of each kind, so the default run is unchanged. Printed, and kept in the JSON's settings.
 */
function idlePlan(settings: Settings, scenarios: readonly ScenarioId[]): IdlePlan {
  if (!scenarios.includes('ws-idle')) return { clients: [], backendProcesses: 1, proxyProcesses: 1 };
  const limit = openFilesLimit();
  const plan = planIdleTunnels(settings.idleTunnels, limit);
  settings.idlePlan = plan;
  console.error(
    `ws-idle plan for ${settings.idleTunnels} tunnels, ${limit} descriptors per process: ` +
      `${plan.clients.length} client process(es) (${plan.clients.join(', ')}), ` +
      `${plan.backendProcesses} echo backend process(es), ${plan.proxyProcesses} proxy process(es)`,
  );
  return plan;
}

/** The SSL-passthrough bench (bench/lib/passthrough.ts) on the same cores; prints its table, writes its JSON. */
async function passthroughBench(settings: Settings, procs: ProcessGroup): Promise<void> {
  const s = {
    rounds: settings.rounds,
    seconds: settings.seconds,
    connections: settings.connections,
    handshakeConcurrency: settings.handshakeConcurrency,
    proxyCpu: PROXY_CPU,
    loadCpu: LOAD_CPU,
  };
  const { table, medians } = await runPassthroughBench(procs, REPO, s);
  console.log(`\nssl passthrough:\n${table}`);
  const outDir = join(REPO, 'bench/out');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `passthrough-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ settings: s, versions: versions(), medians }, null, 2));
  console.error(`wrote ${file}`);
}

/** The control-plane bench (bench/control-plane.ts) as a child on both cores, output inherited. */
async function runControlPlane(): Promise<void> {
  console.log('\ncontrol plane:');
  const file = join(REPO, 'bench/control-plane.ts');
  const child = spawn(
    'taskset',
    // The product runs in that process: with the image's node flags, as a `helm install` runs it.
    [
      '-c',
      '0,1',
      process.execPath,
      ...repoImageNodeFlags(REPO),
      '--expose-gc',
      file,
      ...(args.quick ? ['--quick'] : []),
    ],
    {
      stdio: 'inherit',
    },
  );
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`control-plane bench exited with ${code}`);
}

await main();
