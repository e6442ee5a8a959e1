import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from 'node:tls';
import { makeCertificate, TLS_HOST, writeCertFiles } from './configs.ts';
import { serveFlags, waitReady } from './contestants.ts';
import { freePorts, type ProcessGroup, type Started, treeCpuSeconds, waitForPort } from './procs.ts';
import { median } from './stats.ts';
import { runTlsHandshakes } from './tls-handshakes.ts';
import { runWrk } from './wrk.ts';

/**
 * The SSL-passthrough bench (issue 16): (1) what one passthrough host costs the terminating hosts (the SNI
 * peek runs on every HTTPS connection once a passthrough host exists): sticky-ingress without and with one,
 * keep-alive requests and new connections to a terminating host; (2) the relay itself against HAProxy
 * `mode tcp` with `req_ssl_sni` routing and `balance source`, same core. Proxies on `proxyCpu`, clients and
 * backends on `loadCpu`; figures are medians over interleaved rounds, with the proxy's CPU per operation.
 */

/** The passthrough host; its backends terminate TLS with the bench certificate. */
export const PT_HOST = 'pt.bench';

export interface PassthroughSettings {
  rounds: number;
  seconds: number;
  connections: number;
  handshakeConcurrency: number;
  proxyCpu: string;
  loadCpu: string;
}

interface Proxy {
  id: string;
  proc: Started;
  https: number;
}

type Scenario = 'term-https' | 'term-handshake' | 'pt-requests' | 'pt-handshake';
const WHO: Record<Scenario, readonly string[]> = {
  'term-https': ['sticky-nopt', 'sticky-pt'],
  'term-handshake': ['sticky-nopt', 'sticky-pt'],
  'pt-requests': ['haproxy-tcp', 'sticky-pt'],
  'pt-handshake': ['haproxy-tcp', 'sticky-pt'],
};

/** Runs the bench and returns the table (medians; `cpu µs/op` is the proxy's CPU time per request/handshake). */
export async function runPassthroughBench(
  procs: ProcessGroup,
  repo: string,
  s: PassthroughSettings,
): Promise<{ table: string; medians: Record<string, Record<string, Record<string, number>>> }> {
  const dir = procs.tempDir('sticky-bench-pt-');
  const cert = await makeCertificate();
  const [plain, tls1, tls2] = (await freePorts(3)) as [number, number, number];
  writeCertFiles({ dir, ...cert, fast: [plain, plain], node: [plain, plain] });
  const conf = join(dir, 'pt-backends.conf');
  writeFileSync(conf, backendConf(dir, plain, [tls1, tls2]));
  const backend = procs.spawn(
    { name: 'pt-backends', cmd: 'nginx', args: ['-p', dir, '-e', 'stderr', '-c', conf], cpu: s.loadCpu },
    dir,
  );
  await Promise.all([plain, tls1, tls2].map((p) => waitForPort(p, backend)));
  const proxies = new Map<string, Proxy>();
  for (const withPt of [false, true]) {
    const p = await startSticky(procs, repo, dir, s.proxyCpu, { plain, tls: [tls1, tls2], withPt });
    proxies.set(p.id, p);
  }
  const h = await startHaproxyTcp(procs, dir, s.proxyCpu, [tls1, tls2]);
  proxies.set(h.id, h);
  const runs: Record<string, Record<string, Record<string, number[]>>> = {};
  for (let round = 1; round <= s.rounds; round++) {
    for (const scenario of Object.keys(WHO) as Scenario[]) {
      for (const id of WHO[scenario]) {
        const proxy = proxies.get(id) as Proxy;
        const figures = await measure(scenario, proxy, s);
        console.error(`pt round ${round} ${scenario} ${id}: ${figures.rate?.toFixed(0)}/s`);
        const byScenario = runs[scenario] ?? {};
        runs[scenario] = byScenario;
        const byId = byScenario[id] ?? {};
        byScenario[id] = byId;
        for (const [k, v] of Object.entries(figures)) byId[k] = [...(byId[k] ?? []), v];
      }
    }
  }
  const medians: Record<string, Record<string, Record<string, number>>> = {};
  for (const [scenario, byId] of Object.entries(runs)) {
    medians[scenario] = {};
    for (const [id, figs] of Object.entries(byId)) {
      (medians[scenario] as Record<string, Record<string, number>>)[id] = Object.fromEntries(
        Object.entries(figs).map(([k, v]) => [k, median(v)]),
      );
    }
  }
  return { table: format(medians), medians };
}

async function measure(scenario: Scenario, proxy: Proxy, s: PassthroughSettings) {
  const cpu0 = treeCpuSeconds(proxy.proc.pid);
  const t0 = performance.now();
  let rate: number;
  let errors: number;
  if (scenario === 'term-https' || scenario === 'term-handshake') {
    // wrk's SNI is the URL's host (127.0.0.1): no passthrough host matches it, so the peek hands over to TLS.
    const handshake = scenario === 'term-handshake';
    const r = await runWrk({
      url: `https://127.0.0.1:${proxy.https}/`,
      seconds: s.seconds,
      connections: handshake ? s.handshakeConcurrency : s.connections,
      cpu: s.loadCpu,
      headers: [`Host: ${TLS_HOST}`, ...(handshake ? ['Connection: close'] : [])],
    });
    rate = r.requestsPerSec;
    errors = r.non2xx3xx + r.socketErrors;
  } else if (scenario === 'pt-handshake') {
    const r = await runTlsHandshakes({
      port: proxy.https,
      servername: PT_HOST,
      concurrency: s.handshakeConcurrency,
      seconds: s.seconds,
    });
    rate = r.handshakesPerSec;
    errors = r.failures;
  } else {
    const r = await keepAliveRequests(proxy.https, s.connections, s.seconds);
    rate = r.perSec;
    errors = r.errors;
  }
  const wall = (performance.now() - t0) / 1000;
  const cpuSeconds = treeCpuSeconds(proxy.proc.pid) - cpu0;
  return {
    rate,
    proxyCpu: cpuSeconds / wall,
    cpuUsPerOp: (cpuSeconds * 1e6) / Math.max(1, rate * wall),
    errors,
  };
}

/**
 * `connections` keep-alive TLS connections with SNI pt.bench, each sending GET after GET for `seconds`:
 * requests per second through the relay (wrk cannot set an SNI other than the URL's host).
 */
async function keepAliveRequests(port: number, connections: number, seconds: number) {
  let done = 0;
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const request = `GET / HTTP/1.1\r\nHost: ${PT_HOST}\r\n\r\n`;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, servername: PT_HOST, rejectUnauthorized: false });
      let buffered = '';
      const next = () => {
        if (performance.now() >= deadline) {
          socket.end();
          return;
        }
        socket.write(request);
      };
      socket.setEncoding('latin1');
      socket.once('secureConnect', next);
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        // The backends answer `ok\n` with a Content-Length: a response is complete at its 3-byte body.
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1 || buffered.length < end + 4 + 3) return;
        buffered = buffered.slice(end + 7);
        done += 1;
        next();
      });
      socket.once('error', () => {
        errors += 1;
      });
      socket.once('close', () => resolve());
      socket.setTimeout(10_000, () => socket.destroy());
    });
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, one));
  return { perSec: done / ((performance.now() - started) / 1000), errors };
}

function format(m: Record<string, Record<string, Record<string, number>>>): string {
  const lines = [
    '| scenario | contestant | per s | proxy cpu | cpu µs/op | vs first | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const scenario of Object.keys(WHO) as Scenario[]) {
    const ids = WHO[scenario];
    const base = m[scenario]?.[ids[0] as string]?.rate ?? Number.NaN;
    for (const id of ids) {
      const f = m[scenario]?.[id];
      if (f === undefined) continue;
      const ratio = ((f.rate as number) / base).toFixed(3);
      lines.push(
        `| ${scenario} | ${id} | ${(f.rate as number).toFixed(0)} | ${(f.proxyCpu as number).toFixed(2)} | ${(f.cpuUsPerOp as number).toFixed(1)} | ${ratio} | ${f.errors} |`,
      );
    }
  }
  return lines.join('\n');
}

/** One nginx: `ok` over plain HTTP on `plain`, and over TLS (bench certificate) on `tls` ports. */
function backendConf(dir: string, plain: number, tls: readonly number[]): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/pt-backends.pid;
error_log stderr warn;
worker_rlimit_nofile 20000;
events { worker_connections 16000; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path ${dir}/p-body; proxy_temp_path ${dir}/p-proxy;
  fastcgi_temp_path ${dir}/p-fcgi; uwsgi_temp_path ${dir}/p-uwsgi; scgi_temp_path ${dir}/p-scgi;
  ssl_certificate ${dir}/bench.crt;
  ssl_certificate_key ${dir}/bench.key;
  server {
    listen 127.0.0.1:${plain};
    ${tls.map((p) => `listen 127.0.0.1:${p} ssl;`).join('\n    ')}
    location / { default_type text/plain; return 200 "ok\\n"; }
  }
}
`;
}

/** HAProxy `mode tcp`: wait for the ClientHello, route pt.bench by SNI, stick by source (`balance source`). */
async function startHaproxyTcp(procs: ProcessGroup, dir: string, cpu: string, tls: readonly number[]) {
  const [https] = (await freePorts(1)) as [number];
  const cfg = join(dir, 'haproxy-tcp.cfg');
  writeFileSync(
    cfg,
    `global
  nbthread 1
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe_pt
  bind 127.0.0.1:${https}
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  use_backend be_pt if { req_ssl_sni -i ${PT_HOST} }
backend be_pt
  balance source
${tls.map((p, i) => `  server pt${i} 127.0.0.1:${p}`).join('\n')}
`,
  );
  const proc = procs.spawn({ name: 'haproxy-tcp', cmd: 'haproxy', args: ['-f', cfg, '-db'], cpu }, dir);
  await waitForPort(https, proc);
  return { id: 'haproxy-tcp', proc, https };
}

/** sticky-ingress standalone: TLS_HOST terminated to `plain`; with `withPt`, PT_HOST passed through to `tls`. */
async function startSticky(
  procs: ProcessGroup,
  repo: string,
  dir: string,
  cpu: string,
  o: { plain: number; tls: readonly number[]; withPt: boolean },
): Promise<Proxy> {
  const id = o.withPt ? 'sticky-pt' : 'sticky-nopt';
  const [http, https, admin] = (await freePorts(3)) as [number, number, number];
  const manifests = join(dir, `manifests-${id}`);
  mkdirSync(manifests, { recursive: true });
  writeFileSync(
    join(manifests, 'bench.json'),
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects(dir, o) }),
  );
  const keyFile = join(dir, `${id}.key`);
  writeFileSync(keyFile, randomBytes(32).toString('hex'));
  const flags = serveFlags({
    dir: manifests,
    ports: { http, https, admin },
    keyFile,
    accessLog: false,
    metrics: false,
  });
  const proc = procs.spawn(
    { name: id, cmd: process.execPath, args: [join(repo, 'cmd/sticky-ingress.ts'), 'serve', ...flags], cpu },
    dir,
  );
  await waitReady(admin, proc);
  return { id, proc, https };
}

function objects(dir: string, o: { plain: number; tls: readonly number[]; withPt: boolean }): object[] {
  const b64 = (f: string) => readFileSync(join(dir, f)).toString('base64');
  const svc = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  });
  const slice = (name: string, port: number, i: number) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-${i}`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true, serving: true, terminating: false } }],
  });
  const ing = (
    name: string,
    host: string,
    service: string,
    annotations: Record<string, string>,
    tls: boolean,
  ) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'default', annotations },
    spec: {
      ingressClassName: 'sticky',
      ...(tls ? { tls: [{ hosts: [host], secretName: 'bench-tls' }] } : {}),
      rules: [
        {
          host,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: service, port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    },
  });
  const out: object[] = [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: 'bench-tls', namespace: 'default' },
      data: { 'tls.crt': b64('bench.crt'), 'tls.key': b64('bench.key') },
    },
    svc('plain'),
    slice('plain', o.plain, 0),
    ing('term', TLS_HOST, 'plain', {}, true),
  ];
  if (o.withPt) {
    out.push(svc('pt'), ...o.tls.map((p, i) => slice('pt', p, i)));
    out.push(ing('pt', PT_HOST, 'pt', { 'sticky-ingress.dev/ssl-passthrough': 'true' }, false));
  }
  return out;
}
