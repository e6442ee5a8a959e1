import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type Managed, startProcess } from './processes.ts';
import { waitFor } from './wait.ts';

const BACKEND = fileURLToPath(new URL('./backend.ts', import.meta.url));

/**
 * A network namespace the test created, joined to the root namespace by a veth pair: `hostAddress`
 * (10.213.N.1) on the root side, `address` (10.213.N.2) inside. The only non-loopback addresses tests use.
 */
export interface TestHost {
  name: string;
  address: string;
  hostAddress: string;
  /** Starts `backend.ts` inside the namespace (`args`: its extra flags) and waits for its ready line. */
  startBackend(id: string, port?: number, args?: string[]): Promise<Backend>;
  close(): Promise<void>;
}

/** A backend process inside a TestHost. */
export interface Backend {
  id: string;
  address: string;
  port: number;
  process: Managed;
  /** The Pod it runs in, on an existing cluster (existing-cluster.ts); absent in a network namespace. */
  pod?: { namespace: string; name: string };
  /** SIGTERM; resolves once it exited. */
  stop(): Promise<void>;
}

const live = new Map<string, string>();
let hooked = false;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function removeHost(name: string, veth: string): void {
  try {
    ip('link', 'del', veth);
  } catch {}
  try {
    ip('netns', 'del', name);
  } catch {}
}

function pickSubnet(): number {
  const used = ip('-o', '-4', 'addr', 'show');
  for (let i = 0; i < 50; i += 1) {
    const n = 1 + Math.floor(Math.random() * 250);
    if (!used.includes(`10.213.${n}.`)) return n;
  }
  throw new Error('no free 10.213.N.0/30 subnet');
}

/** Creates a namespace `si-<rand>` with a /30 veth link; removed on close() or process exit. */
export function createTestHost(): TestHost {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const [name, veth] of live) removeHost(name, veth);
    });
  }
  const tag = randomBytes(3).toString('hex');
  const name = `si-${tag}`;
  const veth = `si${tag}h`;
  const peer = `si${tag}c`;
  const n = pickSubnet();
  const hostAddress = `10.213.${n}.1`;
  const address = `10.213.${n}.2`;
  live.set(name, veth);
  try {
    ip('netns', 'add', name);
    ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', peer);
    ip('link', 'set', peer, 'netns', name);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', veth);
    ip('link', 'set', veth, 'up');
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${address}/30`, 'dev', peer);
    ip('netns', 'exec', name, 'ip', 'link', 'set', peer, 'up');
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    removeHost(name, veth);
    live.delete(name);
    throw err;
  }
  const backends = new Set<Backend>();
  return {
    name,
    address,
    hostAddress,
    async startBackend(id, port = 3000, args = []) {
      const proc = startProcess(`backend ${id}`, 'ip', [
        'netns',
        'exec',
        name,
        process.execPath,
        BACKEND,
        '--id',
        id,
        '--host',
        address,
        '--port',
        String(port),
        ...args,
      ]);
      await waitFor(
        () => {
          if (proc.child.exitCode !== null) throw new Error(`backend ${id} exited: ${proc.output()}`);
          return proc.output().includes('"ready":true');
        },
        { timeoutMs: 20_000, description: `backend ${id} ready` },
      );
      const backend: Backend = { id, address, port, process: proc, stop: () => proc.stop() };
      backends.add(backend);
      return backend;
    },
    async close() {
      await Promise.all([...backends].map((b) => b.process.stop()));
      removeHost(name, veth);
      live.delete(name);
    },
  };
}
