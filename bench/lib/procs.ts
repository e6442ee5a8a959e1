import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What `ProcessGroup.spawn` starts: a command pinned to `cpu` (taskset list, e.g. `0`), output to a log file. */
export interface SpawnSpec {
  name: string;
  cmd: string;
  args: readonly string[];
  /** `taskset -c` CPU list; omitted means unpinned. */
  cpu?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Send stdout to /dev/null (an access log at tens of thousands of lines a second); stderr still logged. */
  quietStdout?: boolean;
  /** Open a Node IPC channel (`child.send`/`'message'`): the child must be a Node program. */
  ipc?: boolean;
}

/** A started process: its pid (taskset execs, so this is the pinned program itself) and log path. */
export interface Started {
  name: string;
  pid: number;
  child: ChildProcess;
  log: string;
}

/**
 * Every process and temp dir the bench creates, so one `close()` (also run on SIGINT, SIGTERM and
 * crashes) ends them all: SIGTERM to each process group, SIGKILL after a grace period, dirs removed.
 */
export class ProcessGroup {
  #started: Started[] = [];
  #dirs: string[] = [];
  #closing: Promise<void> | undefined;

  /** A fresh temp dir, removed by close(). */
  tempDir(prefix = 'sticky-bench-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.#dirs.push(dir);
    return dir;
  }

  /** Starts `spec` in its own process group; stdout/stderr go to `<logDir>/<name>.log`. */
  spawn(spec: SpawnSpec, logDir: string): Started {
    const log = join(logDir, `${spec.name}.log`);
    const fd = openSync(log, 'a');
    const [cmd, args] =
      spec.cpu === undefined ? [spec.cmd, spec.args] : ['taskset', ['-c', spec.cpu, spec.cmd, ...spec.args]];
    const child = spawn(cmd, args, {
      stdio: ['ignore', spec.quietStdout ? 'ignore' : fd, fd, ...(spec.ipc ? ['ipc' as const] : [])],
      detached: true,
      env: spec.env ?? process.env,
      cwd: spec.cwd,
    });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`${spec.name}: spawn failed`);
    const started = { name: spec.name, pid: child.pid, child, log };
    child.once('exit', () => {
      this.#started = this.#started.filter((s) => s !== started);
    });
    this.#started.push(started);
    return started;
  }

  /** Stops one process (group) it started: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(p: Started, graceMs = 3000): Promise<void> {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
    signalGroup(p.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(p.pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Idempotent: stops every process still running and removes the temp dirs. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all(this.#started.map((p) => this.stop(p)));
      for (const dir of this.#dirs) rmSync(dir, { recursive: true, force: true });
    })();
    return this.#closing;
  }

  /** Runs close() on Ctrl-C, SIGTERM, an uncaught error or an unhandled rejection, then exits. */
  installCleanup(): void {
    const bail = (code: number) => {
      void this.close().finally(() => process.exit(code));
    };
    process.once('SIGINT', () => bail(130));
    process.once('SIGTERM', () => bail(143));
    process.on('uncaughtException', (err) => {
      console.error(err);
      bail(1);
    });
    process.on('unhandledRejection', (err) => {
      console.error(err);
      bail(1);
    });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Pins the calling process (all its threads) to `cpu`, so the bench's own clients share the load core. */
export function pinSelf(cpu: string): void {
  spawnSync('taskset', ['-a', '-p', '-c', cpu, String(process.pid)], { stdio: 'ignore' });
}

/**
 * `n` distinct free TCP ports on 127.0.0.1, drawn below the kernel's ephemeral range (32768+ by default):
 * a port 0 pick could be taken by an outgoing connection before the proxy that gets it binds it.
 */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (ports.includes(port)) continue;
    const s = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) {
      ports.push(port);
      await new Promise((resolve) => s.close(resolve));
    }
  }
  return ports;
}

/** Resolves once 127.0.0.1:port accepts a connection; rejects after `timeoutMs` or when `p` exits. */
export async function waitForPort(port: number, p: Started, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited (${p.child.exitCode}): ${logTail(p)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${p.name}: port ${port} not open after ${timeoutMs} ms: ${logTail(p)}`);
}

/** The last lines of a process's log, for error messages (the temp dir is gone after close()). */
export function logTail(p: Started, lines = 8): string {
  try {
    return readFileSync(p.log, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '(no log)';
  }
}

/** `pid` and all its descendants (nginx master + workers, cluster primary + workers). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Resident set size of the process tree, KiB (VmRSS summed). */
export function treeRssKiB(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      total += m ? Number(m[1]) : 0;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** CPU time (user + system) of the process tree so far, in seconds. */
export function treeCpuSeconds(pid: number): number {
  const hz = 100; // USER_HZ is 100 on every Linux ABI Node supports
  let ticks = 0;
  for (const p of processTree(pid)) ticks += readStat(p)?.ticks ?? 0;
  return ticks / hz;
}

function readStat(pid: number): { ppid: number; ticks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself contain spaces.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies of one CPU from /proc/stat; the difference of two reads gives its utilisation. */
export function cpuJiffies(cpu: number): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  const v = (line ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** Open descriptors of each process of `pid`'s tree (from /proc/<pid>/fd; processes gone meanwhile skipped). */
export function treeDescriptors(pid: number): { pid: number; fds: number }[] {
  const out: { pid: number; fds: number }[] = [];
  for (const p of processTree(pid)) {
    try {
      out.push({ pid: p, fds: readdirSync(`/proc/${p}/fd`).length });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
