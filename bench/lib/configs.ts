import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/** Host served over plain HTTP (no TLS, so no redirect). */
export const HTTP_HOST = 'http.bench';
/** Host with TLS: HTTPS traffic, and HTTP requests to it are redirected (308). */
export const TLS_HOST = 'tls.bench';
/** Cookie name every proxy inserts for affinity. */
export const COOKIE = 'SRV';

/** Where everything listens and the shared certificate lives. Backends: two endpoints per pool. */
export interface Topology {
  dir: string;
  certPem: string;
  keyPem: string;
  /** nginx fixed-response backends (plain HTTP requests). */
  fast: readonly [number, number];
  /** Node backends: WebSocket echo on /ws, socket.io on /socket.io/. */
  node: readonly [number, number];
}

/** The listeners of one proxy under test. */
export interface ProxyPorts {
  http: number;
  https: number;
  admin: number;
}

/**
 * RSA-2048 / SHA-256 certificate for both hosts: still the most common ingress key, and its cheap verify
 * keeps the handshake client's core from saturating before the proxy's (an ECDSA P-256 verify costs the
 * client about 3x the server's sign).
 */
export async function makeCertificate(): Promise<{ certPem: string; keyPem: string }> {
  const notBeforeDate = new Date(Date.now() - 3600_000);
  const pems = await generate([{ name: 'commonName', value: TLS_HOST }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 30 * 24 * 3600_000),
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: TLS_HOST },
          { type: 2, value: HTTP_HOST },
        ],
      },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}

/** The backend nginx: one worker answering `200 ok` on both `fast` ports (cheaper than any Node server). */
export function backendNginxConf(t: Topology): string {
  return `worker_processes 1;
daemon off;
pid ${t.dir}/backend-nginx.pid;
error_log stderr warn;
worker_rlimit_nofile 20000;
events { worker_connections 16000; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path ${t.dir}/b-body; proxy_temp_path ${t.dir}/b-proxy;
  fastcgi_temp_path ${t.dir}/b-fcgi; uwsgi_temp_path ${t.dir}/b-uwsgi; scgi_temp_path ${t.dir}/b-scgi;
  server {
    listen 127.0.0.1:${t.fast[0]} reuseport;
    listen 127.0.0.1:${t.fast[1]} reuseport;
    location / { default_type text/plain; return 200 "ok\\n"; }
  }
}
`;
}

/**
 * HAProxy: round-robin with an inserted `SRV` cookie, TLS with the shared cert, X-Forwarded-For/-Proto,
 * HTTP->HTTPS 308 for the TLS host, one thread, keep-alive to backends (the 2.6 default); the TLS frontend
 * offers ALPN h2 then http/1.1 (h2 scenario; wrk and the Node clients send no ALPN and get HTTP/1.1).
 */
export function haproxyCfg(t: Topology, p: ProxyPorts): string {
  const pool = (name: string, ports: readonly [number, number]) => `backend ${name}
  balance roundrobin
  cookie ${COOKIE} insert indirect nocache httponly
  server ${name}1 127.0.0.1:${ports[0]} cookie ${name}1
  server ${name}2 127.0.0.1:${ports[1]} cookie ${name}2
`;
  const route = `  use_backend be_node if { path_beg /ws /socket.io/ }
  default_backend be_fast
`;
  return `global
  nbthread 1
  maxconn 8000
  stats socket ${t.dir}/haproxy.sock mode 600 level admin
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  timeout tunnel 1h
  option forwardfor
frontend fe_http
  bind 127.0.0.1:${p.http}
  http-request redirect scheme https code 308 if { hdr(host),field(1,:) -i ${TLS_HOST} }
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
${route}frontend fe_https
  bind 127.0.0.1:${p.https} ssl crt ${t.dir}/bench.pem alpn h2,http/1.1
  http-request set-header X-Forwarded-Proto https
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
${route}${pool('be_fast', t.fast)}${pool('be_node', t.node)}`;
}

/**
 * nginx (open source has no cookie insertion): round-robin upstream for requests without a cookie, one
 * single-server upstream per endpoint picked by the cookie, and `Set-Cookie` from `$upstream_addr` when
 * the request had none; the same thing ingress-nginx does in Lua. The TLS listener offers h2 (1.22's
 * `listen ... http2`; `http2 on` is 1.25+).
 */
export function nginxConf(t: Topology, p: ProxyPorts, o: { workers?: number } = {}): string {
  // Several workers (ws-idle at 20,000 tunnels): one listening socket per worker (reuseport), so the kernel
  // spreads connections by hash instead of whichever worker wakes first taking a whole batch.
  const workers = o.workers ?? 1;
  const reuse = workers > 1 ? ' reuseport' : '';
  const ups = (name: string, ports: readonly [number, number]) =>
    [`upstream ${name} { server 127.0.0.1:${ports[0]}; server 127.0.0.1:${ports[1]}; keepalive 128; }`]
      .concat(ports.map((port, i) => `upstream ${name}${i + 1} { server 127.0.0.1:${port}; keepalive 64; }`))
      .join('\n  ');
  const ids = [
    ...t.fast.map((port, i) => [port, `be_fast${i + 1}`]),
    ...t.node.map((port, i) => [port, `be_node${i + 1}`]),
  ];
  const location = (pool: string) => `proxy_pass http://$${pool}_target;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
      add_header Set-Cookie $set_cookie;`;
  const server = (listen: string, redirect: boolean) => `server {
    ${listen}
    server_name ${HTTP_HOST} ${TLS_HOST};
    ${redirect ? `if ($host = ${TLS_HOST}) { return 308 https://$host$request_uri; }` : ''}
    location /ws { ${location('node')} }
    location /socket.io/ { ${location('node')} }
    location / { ${location('fast')} }
  }`;
  return `worker_processes ${workers};
daemon off;
pid ${t.dir}/nginx.pid;
error_log stderr warn;
worker_rlimit_nofile 20000;
events { worker_connections 16000; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  client_body_temp_path ${t.dir}/n-body; proxy_temp_path ${t.dir}/n-proxy;
  fastcgi_temp_path ${t.dir}/n-fcgi; uwsgi_temp_path ${t.dir}/n-uwsgi; scgi_temp_path ${t.dir}/n-scgi;
  ssl_certificate ${t.dir}/bench.crt;
  ssl_certificate_key ${t.dir}/bench.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  ${ups('be_fast', t.fast)}
  ${ups('be_node', t.node)}
  map $cookie_${COOKIE} $fast_target { be_fast1 be_fast1; be_fast2 be_fast2; default be_fast; }
  map $cookie_${COOKIE} $node_target { be_node1 be_node1; be_node2 be_node2; default be_node; }
  map $upstream_addr $upstream_id { ${ids.map(([port, id]) => `127.0.0.1:${port} ${id};`).join(' ')} }
  map $cookie_${COOKIE} $set_cookie { '' '${COOKIE}=$upstream_id; Path=/; HttpOnly'; default ''; }
  ${server(`listen 127.0.0.1:${p.http}${reuse};`, true)}
  ${server(`listen 127.0.0.1:${p.https} ssl http2${reuse};`, false)}
}
`;
}

/**
 * The manifest folder for `sticky-ingress serve --manifests`: one Ingress (both hosts, TLS for TLS_HOST,
 * cookie affinity, round-robin), two Services and one EndpointSlice per endpoint (loopback ports differ).
 */
export function stickyManifests(t: Topology, o: { affinity?: boolean } = {}): object[] {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const svc = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  });
  const slice = (svcName: string, port: number, i: number) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${svcName}-${i}`,
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': svcName },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true, serving: true, terminating: false } }],
  });
  const paths = [
    { path: '/ws', pathType: 'Prefix', backend: { service: { name: 'node', port: { name: 'http' } } } },
    {
      path: '/socket.io/',
      pathType: 'Prefix',
      backend: { service: { name: 'node', port: { name: 'http' } } },
    },
    { path: '/', pathType: 'Prefix', backend: { service: { name: 'fast', port: { name: 'http' } } } },
  ];
  const a = 'sticky-ingress.dev/';
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: 'bench-tls', namespace: 'default' },
      data: { 'tls.crt': b64(t.certPem), 'tls.key': b64(t.keyPem) },
    },
    svc('fast'),
    svc('node'),
    ...t.fast.map((port, i) => slice('fast', port, i)),
    ...t.node.map((port, i) => slice('node', port, i)),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'bench',
        namespace: 'default',
        annotations: {
          // Off only in the per-feature contestants (bench/cpu-per-request.ts): no cookie, no Set-Cookie.
          ...(o.affinity === false
            ? {}
            : { [`${a}affinity`]: 'cookie', [`${a}session-cookie-name`]: COOKIE }),
          [`${a}load-balance`]: 'round-robin',
          [`${a}websocket-idle-timeout`]: '3600',
        },
      },
      spec: {
        ingressClassName: 'sticky',
        tls: [{ hosts: [TLS_HOST], secretName: 'bench-tls' }],
        rules: [HTTP_HOST, TLS_HOST].map((host) => ({ host, http: { paths } })),
      },
    },
  ];
}

/** Writes the cert files (PEM, and the combined one HAProxy wants) into `t.dir`. */
export function writeCertFiles(t: Topology): void {
  writeFileSync(join(t.dir, 'bench.crt'), t.certPem);
  writeFileSync(join(t.dir, 'bench.key'), t.keyPem);
  writeFileSync(join(t.dir, 'bench.pem'), `${t.certPem.trim()}\n${t.keyPem.trim()}\n`);
}
