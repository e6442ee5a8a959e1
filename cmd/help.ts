import type { z } from 'zod';
import { formatDuration } from '../src/shared/duration.ts';
import { envName, flagName, type ServeConfig, serveSchema } from './config.ts';

/** Value form and one-line help for every serve setting. Keyed by the schema, so a new setting must get one. */
export const settingHelp: Record<keyof ServeConfig, { form: string; help: string }> = {
  manifests: { form: 'DIR', help: 'standalone mode: serve the manifests in this folder (no cluster)' },
  kubeconfig: { form: 'FILE', help: 'kubeconfig to use instead of the in-cluster service account' },
  watchNamespace: { form: 'NS[,NS...]', help: 'namespaces to watch (default: all)' },
  ingressClass: { form: 'NAME', help: 'IngressClass name this controller answers to' },
  gatewayControllerName: {
    form: 'DOMAIN/PATH',
    help: 'GatewayClass spec.controllerName this controller answers to (one installation per GatewayClass)',
  },
  bindAddress: { form: 'ADDRESS', help: 'address the HTTP and HTTPS listeners bind' },
  httpPort: { form: 'PORT (0-65535)', help: 'HTTP listener port (0: any free port)' },
  httpsPort: { form: 'PORT (0-65535)', help: 'HTTPS listener port (0: any free port)' },
  publicHttpsPort: {
    form: 'PORT (0-65535)',
    help: 'HTTPS port clients connect to (redirect Location, X-Forwarded-Port; default: the HTTPS listen port)',
  },
  publicHttpPort: {
    form: 'PORT (0-65535)',
    help: 'HTTP port clients connect to (X-Forwarded-Port of HTTP requests; default: the HTTP listen port)',
  },
  adminPort: { form: 'PORT (0-65535)', help: 'admin listener port: /healthz, /readyz, /metrics' },
  adminBindAddress: { form: 'ADDRESS', help: 'address the admin listener binds' },
  affinityKeyFile: {
    form: 'FILE',
    help: 'secret (>= 16 bytes) that signs affinity cookies; share it across replicas',
  },
  defaultCertificate: { form: 'NAMESPACE/NAME', help: 'TLS Secret for SNI names no Ingress claims' },
  trustedProxies: { form: 'CIDR[,CIDR...]', help: 'peers whose X-Forwarded-* headers are trusted' },
  proxyProtocolHttp: {
    form: 'off|strict|optional',
    help: 'PROXY protocol v1/v2 on the HTTP listener (strict: a trusted peer without it is closed)',
  },
  proxyProtocolHttps: { form: 'off|strict|optional', help: 'PROXY protocol v1/v2 on the HTTPS listener' },
  proxyProtocolTrusted: {
    form: 'CIDR[,CIDR...]',
    help: 'peers whose PROXY header is read (others are direct clients); required when PROXY protocol is on',
  },
  http2: {
    form: 'true|false',
    help: 'offer HTTP/2 (ALPN h2) to clients on the HTTPS listener; upstreams stay HTTP/1.1',
  },
  tlsGroups: {
    form: 'GROUP[:GROUP...]',
    help: "key-exchange groups offered to clients (e.g. X25519:P-256); default OpenSSL's, post-quantum X25519MLKEM768 first",
  },
  publishService: { form: 'NAMESPACE/NAME', help: 'Service whose address goes into Ingress status' },
  publishAddress: { form: 'ADDR[,ADDR...]', help: 'addresses to write into Ingress status' },
  leaderElection: { form: 'true|false', help: 'elect one replica to write status' },
  leaderElectionNamespace: { form: 'NS', help: 'namespace of the leader election Lease' },
  leaderElectionLease: { form: 'NAME', help: 'name of the leader election Lease' },
  podName: { form: 'NAME', help: 'this pod (leader identity); from the downward API' },
  workers: {
    form: 'COUNT|auto',
    help: 'dataplane processes sharing the listeners (auto: one per CPU); the configuration side runs once',
  },
  metrics: {
    form: 'true|false',
    help: 'dataplane and controller metrics, /metrics and /stats on the admin port',
  },
  accessLog: { form: 'true|false', help: 'log one line per request' },
  accessLogSample: { form: 'RATIO (0-1)', help: 'fraction of requests that get an access log line' },
  logLevel: { form: 'trace|debug|info|warn|error|fatal', help: 'log level' },
  maxHeaderSize: { form: 'BYTES (1024-1048576)', help: 'largest request header block accepted' },
  maxClientConnections: {
    form: 'COUNT',
    help: 'open client connections per listener; beyond it new ones are closed (sticky_ingress_rejected_total)',
  },
  maxTunnels: {
    form: 'COUNT',
    help: 'open WebSocket tunnels and SSL-passthrough relays per process; beyond it upgrades get 503 and new relays are closed (sticky_ingress_rejected_total)',
  },
  reclaimMemory: {
    form: 'true|false',
    help: 'opt-in (it pauses the event loop while it runs): after 500+ WebSocket tunnels closed and 5 s without a close, one memory-reducing GC (at most 1/min) returns their memory to the system',
  },
  buildThread: {
    form: 'true|false',
    help: 'build configuration in a worker thread, so a change at 10,000 Ingresses does not hold the event loop that serves traffic; false: build in the serving thread',
  },
  upstreamClient: {
    form: 'raw|undici',
    help: 'HTTP/1.1 client of the upstream hop: raw (ours, strict RFC 9112 framing) or undici',
  },
  maxUpstreamConnections: {
    form: 'COUNT',
    help: 'connections per upstream endpoint; beyond it requests wait for a free one',
  },
  requestHeaderTimeout: { form: 'DURATION (500ms, 5s, 2m, 1h)', help: 'time a client has to send headers' },
  keepAliveTimeout: { form: 'DURATION', help: 'idle time before a client keep-alive connection closes' },
  shutdownDelay: { form: 'DURATION', help: 'SIGTERM: /readyz fails, listeners close after this delay' },
  drainTimeout: {
    form: 'DURATION',
    help: 'SIGTERM: in-flight requests get this long, then WebSockets get close 1001',
  },
};

/** The default of a setting as a user would type it, or undefined when it has none. */
function defaultText(key: keyof ServeConfig): string | undefined {
  const def = (serveSchema.shape[key] as z.ZodType).def as { type: string; defaultValue?: unknown };
  if (def.type !== 'default') return undefined;
  const value = def.defaultValue;
  if (settingHelp[key].form.startsWith('DURATION')) return formatDuration(value as number);
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.join(',');
  return String(value);
}

/** Help lines for the given settings: flag, form, env name, default, help. */
function settingsHelp(keys: readonly (keyof ServeConfig)[]): string {
  return keys
    .map((key) => {
      const { form, help } = settingHelp[key];
      const def = defaultText(key);
      return `  ${flagName(key)} ${form}\n      ${help}${def === undefined ? '' : ` (default ${def})`}\n      env ${envName(key)}`;
    })
    .join('\n');
}

export const serveKeys = Object.keys(serveSchema.shape) as (keyof ServeConfig)[];
/** Settings `check` and `explain` use: the ones the build reads, plus the affinity key for cookies. */
export const buildKeys = [
  'ingressClass',
  'gatewayControllerName',
  'defaultCertificate',
] as const satisfies readonly (keyof ServeConfig)[];
export const explainKeys = [
  ...buildKeys,
  'affinityKeyFile',
  'httpsPort',
  'publicHttpsPort',
] as const satisfies readonly (keyof ServeConfig)[];

const common = '  -h, --help\n      this help\n  --version\n      print the version';

/** `--help` text of each subcommand, and of the program. */
export function helpText(command: 'serve' | 'check' | 'explain' | 'convert' | undefined): string {
  switch (command) {
    case 'serve':
      return `Usage: sticky-ingress serve [flags]\n\nServe a cluster's Ingresses, or with --manifests a folder of manifests.\nFlags win over environment variables.\n\n${settingsHelp(serveKeys)}\n${common}\n`;
    case 'check':
      return `Usage: sticky-ingress check DIR [flags]\n\nLoad and build the manifests in DIR offline; print every problem. Exit 1 when there is any.\n\n${settingsHelp(buildKeys)}\n${common}\n`;
    case 'convert':
      return `Usage: sticky-ingress convert DIR [--gateway-class NAME] [--gateway-name NAME]\n\nWrite the Ingresses of DIR as Gateway API objects (one Gateway per namespace, one HTTPRoute per Ingress host) on stdout, affinity annotations as sessionPersistence; what cannot be carried goes to stderr, per object.\n\n  --gateway-class NAME\n      the GatewayClass the Gateways name (default sticky)\n  --gateway-name NAME\n      the Gateway's name in each namespace (default sticky)\n${common}\n`;
    case 'explain':
      return `Usage: sticky-ingress explain DIR --url URL [--cookie NAME=VALUE]... [--header NAME:VALUE]... [--client ADDRESS]\n\nShow which host, route, backend and endpoint a request would reach, and why.\n\n  --url URL\n      the request, e.g. https://chat.example.com/socket.io/?EIO=4\n  --cookie NAME=VALUE\n      a cookie the request carries (repeatable)\n  --header NAME:VALUE\n      a request header, for upstream-hash-by keys (repeatable)\n  --client ADDRESS\n      the client address routes' access lists are checked against (default: none, which an allow list refuses)\n${settingsHelp(explainKeys)}\n${common}\n`;
    default:
      return 'Usage: sticky-ingress <command> [flags]\n\nCommands:\n  serve     run the ingress (a cluster, or --manifests DIR)\n  check     validate a folder of manifests offline\n  explain   show where a request to a folder of manifests would go\n  convert   write a folder of Ingresses as Gateway API objects\n\nRun `sticky-ingress <command> --help` for its flags.\n  --version  print the version\n';
  }
}
