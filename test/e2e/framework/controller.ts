import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { LOOPBACK_PORT_0 } from '../../serve-flags.ts';
import { type Managed, startProcess } from './processes.ts';
import { waitFor } from './wait.ts';

const CLI = fileURLToPath(new URL('../../../cmd/sticky-ingress.ts', import.meta.url));

/** A `sticky-ingress serve` child process in cluster mode, with the ports it bound. */
export interface ControllerProcess {
  name: string;
  http: number;
  https: number;
  admin: number;
  process: Managed;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** Waits for a log line matching `match`. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    description: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** GET on the admin port, e.g. `/readyz`. */
  admin200(path: string): Promise<boolean>;
  stop(): Promise<void>;
}

/** Writes a shared affinity key file (replicas that share it agree on cookies). */
export async function writeAffinityKey(dir: string): Promise<string> {
  const file = join(dir, `affinity-${randomBytes(4).toString('hex')}.key`);
  await writeFile(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return file;
}

/**
 * Starts `node cmd/sticky-ingress.ts serve --kubeconfig ...` on 127.0.0.1 port 0 (HTTP, HTTPS, admin),
 * reads the bound ports from its `listening` line, and waits until /readyz says ready (first snapshot live).
 */
export async function startController(opts: {
  name: string;
  kubeconfig: string;
  leaseNamespace: string;
  affinityKeyFile: string;
  extraArgs?: string[];
  waitReady?: boolean;
}): Promise<ControllerProcess> {
  const args = [
    CLI,
    'serve',
    '--kubeconfig',
    opts.kubeconfig,
    ...LOOPBACK_PORT_0,
    '--pod-name',
    opts.name,
    '--leader-election-namespace',
    opts.leaseNamespace,
    '--affinity-key-file',
    opts.affinityKeyFile,
    '--shutdown-delay',
    '0s',
    '--drain-timeout',
    '2s',
    '--access-log',
    'false',
    ...(opts.extraArgs ?? []),
  ];
  const proc = startProcess(`controller ${opts.name}`, process.execPath, args);
  const parsed = (): Record<string, unknown>[] => {
    const out: Record<string, unknown>[] = [];
    for (const line of proc.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {}
    }
    return out;
  };
  const waitForLog: ControllerProcess['waitForLog'] = (match, description, timeoutMs = 30_000) =>
    waitFor(
      () => {
        if (proc.child.exitCode !== null)
          throw new Error(`controller ${opts.name} exited:\n${proc.output()}`);
        return parsed().find(match);
      },
      { timeoutMs, description: `${opts.name}: ${description}` },
    );
  const listening = await waitForLog((l) => l.msg === 'listening', 'listening line');
  const admin = Number(listening.admin);
  const admin200 = async (path: string) => {
    const res = await request(`http://127.0.0.1:${admin}${path}`);
    await res.body.dump();
    return res.statusCode === 200;
  };
  const handle: ControllerProcess = {
    name: opts.name,
    http: Number(listening.http),
    https: Number(listening.https),
    admin,
    process: proc,
    logs: parsed,
    waitForLog,
    admin200,
    stop: () => proc.stop(10_000),
  };
  if (opts.waitReady !== false) {
    await waitFor(
      async () => {
        if (proc.child.exitCode !== null)
          throw new Error(`controller ${opts.name} exited:\n${proc.output()}`);
        return admin200('/readyz');
      },
      { timeoutMs: 30_000, description: `${opts.name} /readyz` },
    );
  }
  return handle;
}
