import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { tlsGroupsProblem } from '../src/dataplane/front/tls-context.ts';
import { DURATION_HINT, DURATION_PATTERN, durationMs } from '../src/shared/duration.ts';

/**
 * Every setting of `sticky-ingress serve`, each a flag `--kebab-name` and an environment variable
 * `STICKY_INGRESS_UPPER_SNAKE`. Parsed once at start-up; nothing else reads process.env.
 */
const duration = z.string().regex(DURATION_PATTERN, DURATION_HINT).transform(durationMs);
const port = z.coerce.number().int().min(0).max(65535);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const proxyMode = z.enum(['off', 'strict', 'optional']);

export const serveSchema = z.object({
  /** Standalone mode: serve the manifests in this folder instead of watching a cluster. */
  manifests: z.string().min(1).optional(),
  kubeconfig: z.string().min(1).optional(),
  watchNamespace: list.default([]),
  ingressClass: z.string().min(1).default('sticky'),
  /** GatewayClass `spec.controllerName` this controller answers to: one installation per GatewayClass. */
  gatewayControllerName: z
    .string()
    .max(253)
    .regex(
      /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9/._~%!$&'()*+,;=:@-]+$/,
      'DOMAIN/PATH (GatewayClass controllerName)',
    )
    .default('sticky-ingress.dev/controller'),
  bindAddress: z.string().min(1).default('0.0.0.0'),
  httpPort: port.default(8080),
  httpsPort: port.default(8443),
  /**
   * The port clients connect to for HTTPS (the Service's 443 or nodePort), used in redirect Locations and
   * X-Forwarded-Port. Unset: the HTTPS listen port (right when clients reach the listener directly).
   */
  publicHttpsPort: port.optional(),
  /** The port clients connect to for plain HTTP (X-Forwarded-Port of HTTP requests). Unset: the listen port. */
  publicHttpPort: port.optional(),
  adminPort: port.default(9090),
  /**
   * Loopback by default: /metrics and /stats show routes, hosts and backends (issue 10 item 10); the chart
   * binds the pod IP so kubelet probes and Prometheus reach it, behind its NetworkPolicy.
   */
  adminBindAddress: z.string().min(1).default('127.0.0.1'),
  affinityKeyFile: z.string().min(1).optional(),
  defaultCertificate: z
    .string()
    .regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'NAMESPACE/NAME of a kubernetes.io/tls Secret')
    .optional(),
  trustedProxies: list.default([]),
  /**
   * PROXY protocol v1/v2 per listener: strict (a trusted peer must send the header), optional (may; unsafe
   * unless every trusted source sends it), off. Read only from --proxy-protocol-trusted peers.
   */
  proxyProtocolHttp: proxyMode.default('off'),
  proxyProtocolHttps: proxyMode.default('off'),
  proxyProtocolTrusted: list.default([]),
  /** HTTP/2 for clients on the HTTPS listener (ALPN h2, then http/1.1); HTTP/1.1 to upstreams either way. */
  http2: bool.default(false),
  /** Key-exchange groups of the HTTPS listener (OpenSSL names, colon-separated); unset: OpenSSL's default. */
  tlsGroups: z
    .string()
    .superRefine((v, ctx) => {
      const problem = tlsGroupsProblem(v);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  publishService: z
    .string()
    .regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'NAMESPACE/NAME of a Service')
    .optional(),
  publishAddress: list.default([]),
  leaderElection: bool.default(true),
  leaderElectionNamespace: z.string().min(1).default('default'),
  leaderElectionLease: z.string().min(1).default('sticky-ingress-leader'),
  podName: z.string().min(1).optional(),
  /** Dataplane processes (node:cluster workers sharing the listeners); `auto` = one per CPU. */
  workers: z
    .string()
    .regex(/^(auto|[1-9]\d{0,2})$/, 'a count (1-999) or auto')
    .transform((v) => (v === 'auto' ? availableParallelism() : Number(v)))
    .default(1),
  /** Off: no dataplane observer, no /metrics, /stats; requests pay nothing for observability. */
  metrics: bool.default(true),
  accessLog: bool.default(true),
  accessLogSample: z.coerce.number().min(0).max(1).default(1),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  maxHeaderSize: z.coerce.number().int().min(1024).max(1_048_576).default(16_384),
  /** Open client connections per listener; beyond it new connections are closed at once (counted). */
  maxClientConnections: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
  /** Open WebSocket tunnels per process; beyond it an upgrade gets 503 (counted). */
  maxTunnels: z.coerce.number().int().min(0).max(1_000_000).default(20_000),
  /** After many tunnels closed and a quiet moment, one memory-reducing GC gives their memory back. */
  reclaimMemory: bool.default(false),
  /** Build and finalize snapshots in a worker thread; the serving thread applies what changed. */
  buildThread: bool.default(true),
  /** Connections per upstream endpoint; beyond it requests wait for a free one. */
  maxUpstreamConnections: z.coerce.number().int().min(1).max(100_000).default(512),
  /** HTTP/1.1 client of the plain-HTTP upstream hop: ours (raw, strict framing) or undici. */
  upstreamClient: z.enum(['raw', 'undici']).default('raw'),
  requestHeaderTimeout: duration.default(10_000),
  keepAliveTimeout: duration.default(60_000),
  /** SIGTERM: /readyz fails at once, listeners close after this delay (endpoints controllers catch up). */
  shutdownDelay: duration.default(5_000),
  /** SIGTERM: in-flight requests get this long to finish, then open tunnels are closed. */
  drainTimeout: duration.default(30_000),
});

export type ServeConfig = z.infer<typeof serveSchema>;

/** Flag name `--http-port` <-> key `httpPort` <-> env `STICKY_INGRESS_HTTP_PORT`. */
export function envName(key: string): string {
  return `STICKY_INGRESS_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
