import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { haproxyCfg, nginxConf, type ProxyPorts, stickyManifests, type Topology } from './configs.ts';
import { repoImageNodeFlags } from './image-node-flags.ts';
import { freePorts, logTail, type ProcessGroup, type Started, waitForPort } from './procs.ts';

/** Every measurement the bench knows. */
export type ScenarioId =
  | 'http'
  | 'https'
  | 'h2'
  | 'handshake'
  | 'redirect'
  | 'ws-echo'
  | 'socketio'
  | 'ws-idle';

/** A proxy under test: how to start it (pinned to `cpu`) and which scenarios it takes part in. */
export interface Contestant {
  id: string;
  scenarios: ReadonlySet<ScenarioId>;
  /** Whether it can run as several processes (ws-idle beyond one process's open-files limit). */
  multiProcess: boolean;
  start(ctx: StartContext): Promise<RunningProxy>;
}

/** What a contestant's start() needs. */
export interface StartContext {
  topology: Topology;
  procs: ProcessGroup;
  cpu: string;
  repo: string;
  /** Processes to run as when more than the contestant's own (ws-idle plan: sticky workers, nginx workers). */
  processes?: number;
}

/** A started proxy: the process whose tree is measured (RSS, CPU) and its listeners. */
export interface RunningProxy {
  proc: Started;
  ports: ProxyPorts;
  /** Open tunnels of each worker process (sticky `--workers`, from /stats.json); absent elsewhere. */
  openTunnelsPerWorker?: () => Promise<number[]>;
}

const ALL: ScenarioId[] = ['http', 'https', 'h2', 'handshake', 'redirect', 'ws-echo', 'socketio', 'ws-idle'];
const THROUGHPUT: ScenarioId[] = ['http', 'https', 'handshake'];

async function ports(): Promise<ProxyPorts> {
  const [http, https, admin] = (await freePorts(3)) as [number, number, number];
  return { http, https, admin };
}

const haproxy: Contestant = {
  id: 'haproxy',
  scenarios: new Set(ALL),
  // HAProxy 2.6 is one process (nbthread): every descriptor is in it, whatever the thread count.
  multiProcess: false,
  async start(ctx) {
    const p = await ports();
    const cfg = join(ctx.topology.dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyCfg(ctx.topology, p));
    const proc = ctx.procs.spawn(
      { name: 'haproxy', cmd: 'haproxy', args: ['-f', cfg, '-db'], cpu: ctx.cpu },
      ctx.topology.dir,
    );
    await waitForPort(p.https, proc);
    return { proc, ports: p };
  },
};

const nginx: Contestant = {
  id: 'nginx',
  scenarios: new Set(ALL),
  multiProcess: true,
  async start(ctx) {
    const p = await ports();
    const conf = join(ctx.topology.dir, 'nginx.conf');
    writeFileSync(conf, nginxConf(ctx.topology, p, { workers: ctx.processes ?? 1 }));
    const args = ['-p', ctx.topology.dir, '-e', 'stderr', '-c', conf];
    const proc = ctx.procs.spawn({ name: 'nginx', cmd: 'nginx', args, cpu: ctx.cpu }, ctx.topology.dir);
    await waitForPort(p.https, proc);
    return { proc, ports: p };
  },
};

/** A bench-only Node script taking `PORT BACKEND...` (plain-HTTP scenarios only; `http` by default). */
function nodeScript(id: string, script: string, scenarios: readonly ScenarioId[] = ['http']): Contestant {
  return {
    id,
    scenarios: new Set<ScenarioId>(scenarios),
    multiProcess: false,
    async start(ctx) {
      const p = await ports();
      const args = [join(ctx.repo, script), String(p.http), ...ctx.topology.fast.map(String)];
      const proc = ctx.procs.spawn({ name: id, cmd: process.execPath, args, cpu: ctx.cpu }, ctx.topology.dir);
      await waitForPort(p.http, proc);
      return { proc, ports: p };
    },
  };
}

/** The lean node:http + undici reference: what any Node proxy costs before features. */
const nodeBare = nodeScript('node-bare', 'bench/lib/node-bare.ts');

/**
 * The architecture's floor (issue 13): node:http + the product's own H1Pool, round-robin, X-Forwarded-For,
 * nothing else. In the bench rounds, so the floor and the product are measured in one run.
 */
const nodeRaw: Contestant = {
  id: 'node-raw',
  scenarios: new Set<ScenarioId>(['http', 'https']),
  multiProcess: false,
  async start(ctx) {
    const p = await ports();
    const t = ctx.topology;
    const tls = ['--tls', String(p.https), join(t.dir, 'bench.crt'), join(t.dir, 'bench.key')];
    const args = [join(ctx.repo, 'bench/lib/node-raw.ts'), String(p.http), ...t.fast.map(String), ...tls];
    const proc = ctx.procs.spawn({ name: 'node-raw', cmd: process.execPath, args, cpu: ctx.cpu }, t.dir);
    await Promise.all([waitForPort(p.http, proc), waitForPort(p.https, proc)]);
    return { proc, ports: p };
  },
};
/** node:http's floor for a local answer: the 308 (and a 200 hello-world) with nothing else (issue 13). */
const nodeHello = nodeScript('node-hello', 'bench/lib/node-hello.ts', ['http', 'redirect']);
/** The product Dataplane alone (no CLI, controller or observer): the request path over node-hello's floor. */
const nodeDp = nodeScript('node-dp', 'bench/lib/node-dp.ts', ['redirect']);

/** sticky-ingress variants: the CLI in standalone mode (`--workers N` for the multi-process variant). */
function sticky(
  id: string,
  o: {
    observability: boolean;
    workers: number;
    scenarios: ScenarioId[];
    /** Per-feature variants (cpu-per-request.ts): each defaults to on / the product default. */
    affinity?: boolean;
    accessLog?: boolean;
    metrics?: boolean;
    upstreamClient?: 'raw' | 'undici';
    /** `--http2`: undefined leaves the product default. */
    http2?: boolean;
    /** false: start node without the image's flags (the default young generation); the A/B of them. */
    imageNodeFlags?: boolean;
  },
): Contestant {
  return {
    id,
    scenarios: new Set(o.scenarios),
    multiProcess: true,
    async start(ctx) {
      const p = await ports();
      const dir = join(ctx.topology.dir, `manifests-${id}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'bench.json'),
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: stickyManifests(ctx.topology, { affinity: o.affinity !== false }),
        }),
      );
      const keyFile = join(ctx.topology.dir, 'affinity.key');
      writeFileSync(keyFile, randomBytes(32).toString('hex'));
      const flags = serveFlags({
        dir,
        ports: p,
        keyFile,
        accessLog: o.accessLog ?? o.observability,
        metrics: o.metrics ?? o.observability,
      });
      const workers = Math.max(o.workers, ctx.processes ?? 1);
      if (workers > 1) flags.push('--workers', String(workers));
      if (o.upstreamClient !== undefined) flags.push('--upstream-client', o.upstreamClient);
      if (o.http2 !== undefined) flags.push('--http2', String(o.http2));
      // The image's node flags (Dockerfile NODE_OPTIONS), unless this contestant measures without them.
      const node = o.imageNodeFlags === false ? [] : repoImageNodeFlags(ctx.repo);
      const entry = [...node, join(ctx.repo, 'cmd/sticky-ingress.ts')];
      const proc = ctx.procs.spawn(
        {
          name: id,
          cmd: process.execPath,
          args: [...entry, 'serve', ...flags],
          cpu: ctx.cpu,
          quietStdout: o.accessLog ?? o.observability,
        },
        ctx.topology.dir,
      );
      await waitReady(p.admin, proc);
      if (workers === 1) return { proc, ports: p };
      return { proc, ports: p, openTunnelsPerWorker: () => openTunnelsPerWorker(p.admin) };
    },
  };
}

/** Each worker's open tunnels from the primary's /stats.json (`workers[]`, cmd/cluster/aggregate.ts). */
async function openTunnelsPerWorker(adminPort: number): Promise<number[]> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats.json`);
  const body = (await res.json()) as { workers?: { openTunnels: number }[] };
  return (body.workers ?? []).map((w) => w.openTunnels);
}

/** Flags for `serve`, with the access log and metrics on or off. */
export function serveFlags(o: {
  dir: string;
  ports: ProxyPorts;
  keyFile: string;
  accessLog: boolean;
  metrics: boolean;
}): string[] {
  const flags = [
    ['--manifests', o.dir],
    ['--bind-address', '127.0.0.1'],
    ['--admin-bind-address', '127.0.0.1'],
    ['--http-port', String(o.ports.http)],
    ['--https-port', String(o.ports.https)],
    ['--admin-port', String(o.ports.admin)],
    ['--affinity-key-file', o.keyFile],
    ['--default-certificate', 'default/bench-tls'],
    ['--leader-election', 'false'],
    ['--shutdown-delay', '0ms'],
    ['--drain-timeout', '1s'],
    ['--log-level', 'warn'],
    ['--access-log', String(o.accessLog)],
  ];
  flags.push(['--metrics', String(o.metrics)]);
  return flags.flat();
}

/** Ready = the admin listener answers /readyz with 200, i.e. the first snapshot is live. */
export async function waitReady(adminPort: number, proc: Started): Promise<void> {
  await waitForPort(adminPort, proc);
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined);
    if (res?.status === 200) return;
    await sleep(50);
  }
  throw new Error(`sticky-ingress never became ready: ${logTail(proc)}`);
}

/** The contestants in table order; ratios are to the first (HAProxy). */
export const CONTESTANTS: readonly Contestant[] = [
  haproxy,
  nginx,
  sticky('sticky', { observability: true, workers: 1, scenarios: ALL.filter((s) => s !== 'h2') }),
  // --http2 on: the h2 row, and what offering h2 costs HTTP/1.1 clients and handshakes (issue 16 item 4).
  sticky('sticky-h2', {
    observability: true,
    workers: 1,
    http2: true,
    scenarios: ['https', 'h2', 'handshake'],
  }),
  // Redirects too: what the access log and metrics cost a request that touches no upstream.
  sticky('sticky-noobs', { observability: false, workers: 1, scenarios: [...THROUGHPUT, 'redirect'] }),
  sticky('sticky-2w', { observability: true, workers: 2, scenarios: THROUGHPUT }),
  nodeBare,
  nodeRaw,
  nodeHello,
  nodeDp,
  // Feature ladder for CPU per request (bench/cpu-per-request.ts; issue 13 item 2): routing + X-Forwarded-*
  // only, then + cookie affinity and Set-Cookie, + metrics, + access log (= `sticky`), on our client. The same
  // rungs on undici are in EXTRA_CONTESTANTS.
  ...ladder('raw'),
];

/**
 * Contestants cpu-per-request.ts and `bench/run.ts --extra` know besides CONTESTANTS (the ladder on undici,
 * sticky on node's default young generation); `npm run bench` does not run them.
 */
export const EXTRA_CONTESTANTS: readonly Contestant[] = [
  ...ladder('undici'),
  // `sticky` on node's default young generation, without the image's --max-semi-space-size (issue 13 item 4).
  sticky('sticky-young64', {
    observability: true,
    workers: 1,
    scenarios: ['http', 'https', 'ws-idle'],
    imageNodeFlags: false,
  }),
];

/** The feature ladder's four rungs with one upstream client (`-undici` suffix for undici). */
function ladder(client: 'raw' | 'undici'): Contestant[] {
  const c = client === 'raw' ? '' : '-undici';
  const base = { workers: 1, scenarios: ['http'] as ScenarioId[], upstreamClient: client };
  return [
    sticky(`sticky-route${c}`, { ...base, observability: false, affinity: false }),
    sticky(`sticky-aff${c}`, { ...base, observability: false }),
    sticky(`sticky-aff-met${c}`, { ...base, observability: false, metrics: true }),
    sticky(`sticky-all${c}`, { ...base, observability: true }),
  ];
}
