/**
 * The wss floor (issue 13 item 4): what one idle TLS connection costs a bare `node:tls` server (no HTTP, no
 * relay), and what each lever reachable from JavaScript or a flag changes. Each variant runs in a fresh server
 * process (the bench certificate, RSA-2048); this process opens `--connections` TLS connections to it on
 * loopback in batches of 100, holds them idle, closes them. Prints per variant: KiB of server RSS per
 * connection, V8 heap used and external per connection after a forced GC, share of RSS returned 10 s after
 * close. `--heaptrack FILE` runs the first variant under heaptrack instead and kills the server while the
 * connections are open, so heaptrack's "leaked" allocations are what the open connections hold.
 * Usage: node bench/tls-idle-floor.ts [--connections 500] [--variants baseline,tls12,...] [--heaptrack FILE]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Socket, connect as tcpConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { makeCertificate } from './lib/configs.ts';

/** A lever: server options, a per-connection call, environment or Node flags for the server process. */
interface Variant {
  tls?: Record<string, unknown>;
  /** Bytes for tlsSocket.setMaxSendFragment on every server-side connection. */
  fragment?: number;
  env?: Record<string, string>;
  execArgv?: string[];
  /** Plain TCP: the reference without TLS. */
  tcp?: boolean;
}

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
const VARIANTS: Record<string, Variant> = {
  tcp: { tcp: true },
  baseline: {},
  tls12: { tls: { maxVersion: 'TLSv1.2' } },
  'no-ticket': { tls: { secureOptions: constants.SSL_OP_NO_TICKET } },
  'x25519-only': { tls: { ecdhCurve: 'X25519' } },
  'fragment-512': { fragment: 512 },
  'arena-max-1': { env: { MALLOC_ARENA_MAX: '1' } },
  'arena-max-2': { env: { MALLOC_ARENA_MAX: '2' } },
  'trim-threshold-0': { env: { MALLOC_TRIM_THRESHOLD_: '0' } },
  'mmap-threshold-64k': { env: { MALLOC_MMAP_THRESHOLD_: '65536' } },
  'semi-space-1': { execArgv: ['--max-semi-space-size=1'] },
  jemalloc: { env: { LD_PRELOAD: JEMALLOC } },
};

type Msg = { port: number } | { heapUsed: number; external: number };

// ---- server side (child) ----
async function serve(name: string): Promise<void> {
  const v = VARIANTS[name] as Variant;
  const held: (Socket | TLSSocket)[] = [];
  const send = (m: Msg) => process.send?.(m);
  let listen: (port: number, host: string, cb: () => void) => unknown;
  let address: () => unknown;
  if (v.tcp) {
    const s = createTcpServer((c) => held.push(c));
    listen = s.listen.bind(s);
    address = s.address.bind(s);
  } else {
    const { certPem, keyPem } = JSON.parse(process.env.FLOOR_CERT as string) as Record<string, string>;
    const s = createServer({ cert: certPem, key: keyPem, ...v.tls }, (c) => {
      if (v.fragment) c.setMaxSendFragment(v.fragment);
      held.push(c);
    });
    listen = s.listen.bind(s);
    address = s.address.bind(s);
  }
  process.on('message', (m: string) => {
    if (m !== 'measure') return;
    // A full GC first, so the heap figure is what the connections keep alive, not garbage.
    (globalThis as { gc?: () => void }).gc?.();
    const u = process.memoryUsage();
    send({ heapUsed: u.heapUsed, external: u.external });
  });
  listen(0, '127.0.0.1', () => send({ port: (address() as { port: number }).port }));
}

// ---- client side (this process) ----
function start(name: string, certJson: string, heaptrack?: string): ChildProcess {
  const v = VARIANTS[name] as Variant;
  const self = new URL(import.meta.url).pathname;
  const node = [...(v.execArgv ?? []), '--expose-gc', self, '--server', name];
  const [cmd, args] = heaptrack
    ? ['heaptrack', ['-o', heaptrack, process.execPath, ...node]]
    : [process.execPath, node];
  return spawn(cmd, args, {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, ...v.env, FLOOR_CERT: certJson },
  });
}

function next(child: ChildProcess): Promise<Msg> {
  return new Promise((resolve, reject) => {
    child.once('message', (m: Msg) => resolve(m));
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
}

/** RSS of the server process (KiB); not read under heaptrack, whose wrapper is the direct child. */
function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

async function openAll(port: number, n: number, tcp: boolean): Promise<(Socket | TLSSocket)[]> {
  const out: (Socket | TLSSocket)[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from(
      { length: Math.min(100, n - i) },
      () =>
        new Promise<Socket | TLSSocket>((resolve, reject) => {
          const s = tcp
            ? tcpConnect(port, '127.0.0.1', () => resolve(s))
            : connect({ port, host: '127.0.0.1', servername: 'tls.bench', rejectUnauthorized: false }, () =>
                resolve(s),
              );
          s.once('error', reject);
        }),
    );
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

async function measure(name: string, n: number, certJson: string) {
  const child = start(name, certJson);
  const pid = child.pid as number;
  try {
    const { port } = (await next(child)) as { port: number };
    const warm = await openAll(port, 100, VARIANTS[name]?.tcp === true);
    for (const s of warm) s.destroy();
    await sleep(2000);
    child.send('measure');
    const before = (await next(child)) as { heapUsed: number; external: number };
    const rss0 = rssKiB(pid);
    const sockets = await openAll(port, n, VARIANTS[name]?.tcp === true);
    await sleep(2000);
    child.send('measure');
    const open = (await next(child)) as { heapUsed: number; external: number };
    const rss1 = rssKiB(pid);
    for (const s of sockets) s.destroy();
    await sleep(10_000);
    const rss2 = rssKiB(pid);
    return {
      variant: name,
      kibPerConn: (rss1 - rss0) / n,
      heapKiBPerConn: (open.heapUsed - before.heapUsed) / 1024 / n,
      externalKiBPerConn: (open.external - before.external) / 1024 / n,
      returned: (rss1 - rss2) / (rss1 - rss0),
    };
  } finally {
    child.kill('SIGKILL');
  }
}

/** Under heaptrack: open the connections, then SIGTERM the server while they are open (recorded as leaks). */
async function underHeaptrack(name: string, n: number, certJson: string, file: string): Promise<void> {
  const child = start(name, certJson, file);
  const { port } = (await next(child)) as { port: number };
  await openAll(port, n, VARIANTS[name]?.tcp === true);
  await sleep(2000);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.disconnect();
  // The server exits when the IPC channel closes (below), with every connection still open.
  await exited;
  console.log(`heaptrack data in ${file}*; read with: heaptrack_print -f ${file}*.zst --print-leaks`);
}

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    connections: { type: 'string', default: '500' },
    variants: { type: 'string', default: Object.keys(VARIANTS).join(',') },
    heaptrack: { type: 'string' },
  },
});

if (values.server !== undefined) {
  process.on('disconnect', () => process.exit(0));
  await serve(values.server);
} else {
  const n = Number(values.connections);
  const cert = JSON.stringify(await makeCertificate());
  const names = values.variants.split(',').filter((v) => {
    if (!(v in VARIANTS)) throw new Error(`unknown variant ${v}`);
    return v !== 'jemalloc' || existsSync(JEMALLOC);
  });
  if (values.heaptrack !== undefined) {
    await underHeaptrack(names[0] as string, n, cert, values.heaptrack);
  } else {
    console.log(
      '| variant | KiB RSS per connection | V8 heap KiB per connection | external KiB | returned 10 s after close |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const name of names) {
      const r = await measure(name, n, cert);
      console.log(
        `| ${r.variant} | ${r.kibPerConn.toFixed(1)} | ${r.heapKiBPerConn.toFixed(2)} | ${r.externalKiBPerConn.toFixed(2)} | ${r.returned.toFixed(2)} |`,
      );
    }
  }
}
