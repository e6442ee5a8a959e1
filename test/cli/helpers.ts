import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LOOPBACK_PORT_0 } from '../serve-flags.ts';

/** Helpers for the CLI tests: the real executable as a child process, real backends, real sockets. */

export const entry = fileURLToPath(new URL('../../cmd/sticky-ingress.ts', import.meta.url));

/** A log record of the child (pino JSON line). */
export type LogRecord = Record<string, unknown> & { msg?: string; level?: number };

/** A running child: its parsed stdout lines, raw stderr, and waiters on both and on its exit. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly records: LogRecord[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  #waiters = new Set<() => void>();

  constructor(args: string[], env: Record<string, string> = {}, cwd?: string) {
    // Only the variables the test sets, so a developer's STICKY_INGRESS_* cannot leak in.
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    this.child = spawn(process.execPath, args, {
      env: { ...base, ...env },
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.#notify();
        resolve(code);
      }),
    );
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.stdout += `${line}\n`;
      try {
        this.records.push(JSON.parse(line) as LogRecord);
      } catch {
        // Plain output (check, explain, demo banner).
      }
      this.#notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.#notify();
    });
  }

  /** Resolves with the first value `probe` returns that is not undefined; rejects after `boundMs` or at exit. */
  waitFor<T>(probe: () => T | undefined, what: string, boundMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = probe();
        if (v !== undefined) {
          done();
          resolve(v);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(
            new Error(`exited while waiting for ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
      }, boundMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** The first log record (from index `from`) matching `pred`. */
  waitForRecord(pred: (r: LogRecord) => boolean, what: string, from = 0): Promise<LogRecord> {
    return this.waitFor(() => this.records.slice(from).find(pred), what);
  }

  /** For t.after(): SIGTERM (so a parent can stop its own children), SIGKILL if still running after 10 s. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** Runs the CLI to completion (check, explain, bad flags). */
export async function runCli(args: string[], env: Record<string, string> = {}) {
  const p = new CliProcess([entry, ...args], env);
  const code = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}

/** Starts `serve` on loopback port 0 and resolves once it logged its bound ports. */
export async function startServe(args: string[], env: Record<string, string> = {}) {
  const p = new CliProcess([entry, 'serve', ...LOOPBACK_PORT_0, ...args], env);
  const listening = await p.waitForRecord((r) => r.msg === 'listening', 'listening line');
  return {
    p,
    ports: { http: Number(listening.http), https: Number(listening.https), admin: Number(listening.admin) },
  };
}

/** A backend answering every request with its name. */
export async function startNamedBackend(
  name: string,
): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const server = createServer((_req, res) => res.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One plain-HTTP GET through the ingress with a Host header. */
export function httpGet(port: number, host: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path, headers: { host, connection: 'close', ...headers } },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

/** A temp folder, removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Manifests for one Service `web/app` with an EndpointSlice per port, and an Ingress for `host` -> `/`. */
export function appManifests(opts: {
  host: string;
  ports: number[];
  annotations?: Record<string, string>;
  tlsSecret?: string;
}): string {
  const ann = Object.entries(opts.annotations ?? {})
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  const tls = opts.tlsSecret
    ? `  tls:\n    - hosts: [${opts.host}]\n      secretName: ${opts.tlsSecret}\n`
    : '';
  const slices = opts.ports.map(
    (port, i) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: app-${i}
  namespace: web
  labels: { kubernetes.io/service-name: app }
addressType: IPv4
ports: [{ name: http, port: ${port}, protocol: TCP }]
endpoints:
  - addresses: [127.0.0.1]
    conditions: { ready: true, serving: true, terminating: false }
    targetRef: { kind: Pod, namespace: web, name: app-${i} }
`,
  );
  return `apiVersion: v1
kind: Service
metadata: { name: app, namespace: web }
spec:
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  namespace: web
${ann ? `  annotations:\n${ann}\n` : ''}spec:
  ingressClassName: sticky
${tls}  rules:
    - host: ${opts.host}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: { service: { name: app, port: { name: http } } }
${slices.join('')}`;
}

export { writeFile };
