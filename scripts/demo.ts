#!/usr/bin/env node
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generate } from 'selfsigned';
import { type DemoBackend, startDemoBackends } from './demo-backends.ts';

/**
 * `npm run demo`: three socket.io backends on 127.0.0.1 behind `sticky-ingress serve --manifests <tmp>`,
 * no cluster. Ports from DEMO_HTTP_PORT / DEMO_HTTPS_PORT / DEMO_ADMIN_PORT (0 = any free port).
 * Ctrl-C (or SIGTERM) stops the ingress, the backends, and removes the temp folder.
 */

const demoDir = new URL('../demo/', import.meta.url);
const entry = fileURLToPath(new URL('../cmd/sticky-ingress.ts', import.meta.url));

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name}=${raw}: expected a port 0-65535`);
  return n;
}

/** Writes the demo manifests: the checked-in ones plus the TLS Secret and one EndpointSlice per backend. */
async function writeManifests(dir: string, backends: DemoBackend[]): Promise<{ caFile: string }> {
  await mkdir(dir, { recursive: true });
  const source = new URL('manifests/', demoDir);
  for (const name of await readdir(source)) await copyFile(new URL(name, source), join(dir, name));
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 30 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: 'demo-tls', namespace: 'demo' },
    stringData: { 'tls.crt': pems.cert, 'tls.key': pems.private },
  };
  await writeFile(join(dir, 'generated-tls-secret.json'), `${JSON.stringify(secret, null, 2)}\n`);
  const slices = backends.map((b) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `chat-${b.name}`, namespace: 'demo', labels: { 'kubernetes.io/service-name': 'chat' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: b.port, protocol: 'TCP' }],
    endpoints: [
      {
        addresses: ['127.0.0.1'],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', namespace: 'demo', name: b.name },
      },
    ],
  }));
  const list = { apiVersion: 'v1', kind: 'List', items: slices };
  await writeFile(join(dir, 'generated-endpointslices.json'), `${JSON.stringify(list, null, 2)}\n`);
  const caFile = join(dir, '..', 'localhost-cert.pem');
  await writeFile(caFile, pems.cert);
  return { caFile };
}

/** Starts the ingress; resolves with its bound ports from its `listening` log line. Logs go to `logFile`. */
function startIngress(
  args: string[],
  logFile: string,
): Promise<{ child: ChildProcess; https: number; admin: number; http: number }> {
  // Same process group: Ctrl-C in the terminal reaches the ingress too, which then drains by itself.
  const child = spawn(process.execPath, [entry, 'serve', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const log = createWriteStream(logFile);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`sticky-ingress exited early with code ${code}; see ${logFile}`)),
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      let rec: { msg?: string; level?: number; http?: number; https?: number; admin?: number };
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if ((rec.level ?? 0) >= 50) process.stderr.write(`sticky-ingress: ${rec.msg}\n`);
      if (rec.msg === 'listening')
        resolve({ child, http: rec.http ?? 0, https: rec.https ?? 0, admin: rec.admin ?? 0 });
    });
  });
}

async function waitReady(adminPort: number, child: ChildProcess): Promise<void> {
  // Bounded: 300 probes, 100 ms apart.
  for (let i = 0; i < 300 && child.exitCode === null; i++) {
    const status = await new Promise<number>((resolve) => {
      get({ host: '127.0.0.1', port: adminPort, path: '/readyz' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('sticky-ingress did not become ready');
}

async function main(): Promise<void> {
  const ports = {
    http: envPort('DEMO_HTTP_PORT', 8080),
    https: envPort('DEMO_HTTPS_PORT', 8443),
    admin: envPort('DEMO_ADMIN_PORT', 9090),
  };
  const tmp = await mkdtemp(join(tmpdir(), 'sticky-ingress-demo-'));
  const backends = await startDemoBackends(3, new URL('public/index.html', demoDir));
  let child: ChildProcess | undefined;
  let stopping = false;
  const stop = async (code: number, signal?: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    if (child && child.exitCode === null) {
      const running = child;
      const exited = new Promise((r) => running.once('exit', r));
      // A terminal's Ctrl-C already reached the ingress; anything else (SIGTERM, kill -INT) is forwarded.
      const forward = setTimeout(() => running.kill('SIGTERM'), signal === 'SIGINT' ? 3000 : 0);
      await exited;
      clearTimeout(forward);
    }
    await Promise.all(backends.map((b) => b.close()));
    await rm(tmp, { recursive: true, force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0, 'SIGINT'));
  process.on('SIGTERM', () => void stop(0, 'SIGTERM'));
  process.on('exit', () => child?.exitCode === null && child.kill('SIGKILL'));
  try {
    const manifests = join(tmp, 'manifests');
    const { caFile } = await writeManifests(manifests, backends);
    const keyFile = join(tmp, 'affinity-key');
    await writeFile(keyFile, randomBytes(32).toString('hex'));
    const logFile = join(tmp, 'sticky-ingress.log');
    const started = await startIngress(
      [
        '--manifests',
        manifests,
        '--bind-address',
        '127.0.0.1',
        '--admin-bind-address',
        '127.0.0.1',
        '--http-port',
        String(ports.http),
        '--https-port',
        String(ports.https),
        '--admin-port',
        String(ports.admin),
        '--affinity-key-file',
        keyFile,
        '--shutdown-delay',
        '0s',
        '--drain-timeout',
        '2s',
      ],
      logFile,
    );
    child = started.child;
    child.removeAllListeners('exit');
    child.once('exit', (code) => {
      if (!stopping) {
        process.stderr.write(`sticky-ingress exited (code ${code}); see ${logFile}\n`);
        void stop(1);
      }
    });
    await waitReady(started.admin, child);
    const url = `https://localhost:${started.https}/`;
    process.stdout.write(
      [
        'sticky-ingress demo is up (3 socket.io backends behind it):',
        `  open      ${url}   (self-signed certificate: accept the warning)`,
        `  try       curl --cacert ${caFile} ${url}`,
        `  http      http://localhost:${started.http}/ redirects to HTTPS; admin http://127.0.0.1:${started.admin}/readyz`,
        `  ca        ${caFile}`,
        `  manifests ${manifests}   (edit them: changes are served at once)`,
        `  logs      ${logFile}`,
        '  Ctrl-C stops everything.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    await stop(1);
  }
}

void main();
