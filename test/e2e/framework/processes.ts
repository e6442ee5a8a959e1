import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (bound once, released, handed out; the caller binds it promptly). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The folder with kube-apiserver, etcd and helm (test/e2e/tools/build.sh; a no-op once cached). */
export function toolsDir(): string {
  const out = execFileSync('bash', ['test/e2e/tools/build.sh'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = out.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** A child process whose output is kept (last 200 lines) for failure messages. */
export interface Managed {
  child: ChildProcess;
  name: string;
  output(): string;
  /** Resolves once the process exited (SIGTERM, then SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();
let hooked = false;

/** Kills whatever is still running when the test process exits (failure paths included). */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Spawns a process with piped output; see `Managed`. */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Managed {
  hookExit();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  running.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line) lines.push(line);
    }
    if (lines.length > 400) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
  });
  return {
    child,
    name,
    exited,
    output: () => lines.slice(-200).join('\n'),
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
