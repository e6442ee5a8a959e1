/**
 * The one error catalogue of sticky-ingress (undici's `UND_ERR_*` idea): every error our code throws is a
 * `StickyError` subclass from this file, with a stable `code` of the form `STICKY_ERR_<AREA>_<WHAT>`.
 * Callers and tests match on `code`, never on the message. docs/errors.md is generated from ERROR_CATALOGUE
 * (scripts/gen-error-docs.ts; `npm run check:generated` fails when it is stale).
 */

/** What a code means for the person who sees it, and what they should do; rendered into docs/errors.md. */
export interface ErrorDoc {
  readonly meaning: string;
  readonly action: string;
}

/** Base class of every error sticky-ingress throws; `code` is stable across releases. */
export class StickyError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The base of a catalogue class whose constructor takes only the message: `code` and `doc` once, as statics.
 * (A class per code keeps `instanceof` checks and `name` in logs; this keeps each one to its code and doc.)
 */
function coded<C extends string>(code: C, doc: ErrorDoc) {
  return class extends StickyError {
    static readonly code: C = code;
    static readonly doc: ErrorDoc = doc;
    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options);
    }
  };
}

/** A bad flag, env value or argument: the message names it and the allowed form; the process exits 2. */
export class UsageError extends coded('STICKY_ERR_CLI_USAGE', {
  meaning: 'A command-line flag, environment variable or argument is unknown or malformed.',
  action: 'Read the message (it names the flag and the allowed form) and `sticky-ingress <command> --help`.',
}) {
  readonly exitCode = 2;
}

/** A setting is well formed but what it names is not (unreadable key file, short key): exit 2 as well. */
export class ConfigError extends coded('STICKY_ERR_CLI_CONFIG', {
  meaning:
    'A setting parses, but the thing it points at is unusable: an unreadable or short affinity key file, an unreadable manifest folder, a kubeconfig without a cluster.',
  action: 'Fix the file or path the message names; the process exits 2 before it listens on anything.',
}) {
  readonly exitCode = 2;
}

/** Text that is not a duration (`500ms`, `5s`, `2m`, `1h`). */
export class InvalidDurationError extends coded('STICKY_ERR_INPUT_DURATION', {
  meaning:
    'A duration value (flag, env variable or StickyRoute timeout) is not an integer followed by ms, s, m or h.',
  action: 'Write it like `500ms`, `5s`, `2m` or `1h`.',
}) {}

/** A constructor option of one of our components is missing or out of range; thrown at construction, never on first use. */
export class InvalidOptionError extends StickyError {
  static readonly code = 'STICKY_ERR_OPTION_INVALID';
  static readonly doc: ErrorDoc = {
    meaning:
      'A component (dataplane, upstreams, access log, admin server, holdoff, backoff, leader election) was constructed with a missing or out-of-range option.',
    action:
      'The message names the component and the option. From the CLI this means a flag combination slipped past validation: report it as a bug with the command line.',
  };
  constructor(component: string, option: string, reason: string) {
    super(InvalidOptionError.code, `invalid ${component} option ${option}: ${reason}`);
  }
}

/** A trusted-proxy entry is not an IPv4/IPv6 address or CIDR. */
export class InvalidCidrError extends StickyError {
  static readonly code = 'STICKY_ERR_OPTION_CIDR';
  static readonly doc: ErrorDoc = {
    meaning:
      'An entry of `--trusted-proxies` (or a dataplane option built from it) is not an address or ADDRESS/PREFIX.',
    action: 'Write each entry like `10.0.0.0/8`, `192.0.2.7` or `2001:db8::/32`.',
  };
  constructor(cidr: string) {
    super(InvalidCidrError.code, `invalid CIDR ${JSON.stringify(cidr)}: expected ADDRESS or ADDRESS/PREFIX`);
  }
}

/** `start()` was called on a component that is already started. */
export class AlreadyStartedError extends StickyError {
  static readonly code = 'STICKY_ERR_LIFECYCLE_ALREADY_STARTED';
  static readonly doc: ErrorDoc = {
    meaning: 'A component (dataplane, admin server) was started twice.',
    action: 'A wiring bug in our code or in an embedding program: report it.',
  };
  constructor(component: string) {
    super(AlreadyStartedError.code, `${component} already started`);
  }
}

/** A component was used after its shutdown. */
export class ShutDownError extends StickyError {
  static readonly code = 'STICKY_ERR_LIFECYCLE_SHUT_DOWN';
  static readonly doc: ErrorDoc = {
    meaning: 'A component was used (started, given a snapshot) after it was shut down.',
    action: 'A wiring bug in our code or in an embedding program: report it.',
  };
  constructor(component: string) {
    super(ShutDownError.code, `${component} was shut down`);
  }
}

/** A certificate or key of the snapshot does not parse, or the pair does not match. Logged, never thrown out of apply. */
export class BadCertificateError extends StickyError {
  static readonly code = 'STICKY_ERR_TLS_BAD_CERTIFICATE';
  static readonly doc: ErrorDoc = {
    meaning:
      "A TLS Secret's certificate or key does not parse, or the key does not match the certificate. Logged with the certificate id; the hosts it would serve fall back to the default certificate.",
    action:
      'Check the Secret named in the log line (`openssl x509 -in tls.crt -noout`, `openssl pkey -in tls.key -noout`) and that the key belongs to the certificate.',
  };
  readonly certificateId: string;
  constructor(certificateId: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(BadCertificateError.code, `certificate ${certificateId} rejected: ${reason}`, { cause });
    this.certificateId = certificateId;
  }
}

/** The client went away before the upstream answered; the abort reason of the proxied request. */
export class ClientClosedError extends StickyError {
  static readonly code = 'STICKY_ERR_PROXY_CLIENT_CLOSED';
  static readonly doc: ErrorDoc = {
    meaning:
      'The client closed its connection before the upstream answered; the upstream request is aborted. Never shown to a client.',
    action: 'Nothing: it is the normal end of an abandoned request.',
  };
  constructor() {
    super(ClientClosedError.code, 'client closed the connection');
  }
}

/** A WebSocket upstream did not connect, or did not answer the upgrade, within its timeout. */
export class UpgradeTimeoutError extends StickyError {
  static readonly code = 'STICKY_ERR_PROXY_UPGRADE_TIMEOUT';
  static readonly doc: ErrorDoc = {
    meaning:
      'A WebSocket upstream did not accept the connection, or did not answer the Upgrade, within `proxy-connect-timeout` / `proxy-read-timeout`; the client gets a 504.',
    action: 'Check the pod (is it overloaded, is it listening), or raise the timeout annotation.',
  };
  constructor(connected: boolean) {
    super(
      UpgradeTimeoutError.code,
      connected ? 'upstream did not answer the upgrade in time' : 'connect timeout',
    );
  }
}

/** A request to the Kubernetes API server failed: `statusCode` is the HTTP status, 0 when no answer came. */
export class KubeRequestError extends StickyError {
  static readonly code = 'STICKY_ERR_K8S_REQUEST';
  static readonly doc: ErrorDoc = {
    meaning:
      'A request to the Kubernetes API server failed or got an error status. Retried with backoff; the last good configuration keeps serving.',
    action:
      "The message has the method, path and status: 401/403 is RBAC (compare with the chart's ClusterRole), 0 is the network or the API server.",
  };
  readonly statusCode: number;
  readonly method: string;
  readonly path: string;
  constructor(method: string, path: string, statusCode: number, message: string) {
    super(
      KubeRequestError.code,
      `${method} ${path}: ${statusCode === 0 ? 'no answer' : statusCode} ${message}`,
    );
    this.statusCode = statusCode;
    this.method = method;
    this.path = path;
  }
}

/** The kubeconfig could not be loaded or names no cluster. */
export class KubeConfigError extends coded('STICKY_ERR_K8S_KUBECONFIG', {
  meaning:
    'No usable kubeconfig: the file does not load, or it names no current cluster, and the process is not in a pod.',
  action:
    'Set `--kubeconfig` / `KUBECONFIG`, run inside the cluster, or use `--manifests DIR` for the standalone mode.',
}) {}

/** The leader's Lease renew did not finish before the renew deadline; the abort reason of that renew. */
export class RenewDeadlineError extends StickyError {
  static readonly code = 'STICKY_ERR_K8S_RENEW_DEADLINE';
  static readonly doc: ErrorDoc = {
    meaning:
      'Renewing the leader Lease took longer than the renew deadline; this replica stops writing status and Events so two leaders never overlap.',
    action:
      'Usually a slow or unreachable API server; another replica takes over. Check API server latency if it repeats.',
  };
  constructor() {
    super(RenewDeadlineError.code, 'renew deadline passed');
  }
}

/** The manifest folder itself cannot be read (missing, not a folder, no permission). */
export class ManifestFolderError extends coded('STICKY_ERR_MANIFESTS_FOLDER', {
  meaning: 'The folder given to `--manifests` or `check` cannot be read.',
  action:
    'Check the path and its permissions. A single bad file is not this error: it is a diagnostic and the rest keeps serving.',
}) {}

/** A `--workers` dataplane worker failed or exited while starting, or a worker module ran outside node:cluster. */
export class WorkerStartError extends coded('STICKY_ERR_WORKERS_START', {
  meaning:
    'A dataplane worker of `serve --workers N` failed to start (could not listen, crashed during start-up).',
  action: "The message has the worker's own error; fix that (often a port already in use) and start again.",
}) {}

/** A snapshot delta (`--workers` IPC, the build thread) did not fit the state it was applied to. */
export class DeltaMismatchError extends coded('STICKY_ERR_SNAPSHOT_DELTA', {
  meaning:
    'A configuration change sent as a delta (to a `--workers` dataplane, or from the build thread) did not fit the configuration the receiver holds.',
  action:
    'None: the receiver asks for the whole configuration and keeps serving the last one meanwhile. Report it if it repeats.',
}) {}

/** The build thread failed (crashed, ran out of memory, or answered with an error); the last snapshot stays. */
export class BuildThreadError extends coded('STICKY_ERR_BUILD_THREAD', {
  meaning:
    'The worker thread that builds configuration off the serving thread (`--build-thread`, on by default) failed or exited.',
  action:
    'Traffic keeps the last applied configuration; the next change restarts the thread with the whole view. The log line has the cause (often memory: raise the container limit).',
}) {}

/** The CRD or annotation generator met a schema it cannot express (a development-time error). */
export class SchemaGenerationError extends coded('STICKY_ERR_GEN_SCHEMA', {
  meaning:
    '`npm run gen` met a zod schema it cannot turn into a structural CRD schema or an annotation reference.',
  action:
    'A development-time error: change the schema the message names (only int-or-string unions, a type on every node, one source for each default).',
}) {}

/** A path pattern (use-regex, rewrite-target) outside the linear-time subset, or malformed; `offset` is where. */
export class RegexError extends StickyError {
  static readonly code = 'STICKY_ERR_INPUT_REGEX';
  static readonly doc: ErrorDoc = {
    meaning:
      'An Ingress regex path uses syntax the linear-time matcher does not accept (backreferences, lookaround, possessive quantifiers, \\b) or is malformed.',
    action:
      'Rewrite the pattern without those constructs; the Ingress is not served until then (the diagnostic names it).',
  };
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(RegexError.code, `${message} at offset ${offset}`);
    this.offset = offset;
  }
}

/** The request body grew past the route's proxy-body-size while streaming (the client gets 413). */
export class BodyTooLargeError extends coded('STICKY_ERR_PROXY_BODY_TOO_LARGE', {
  meaning: "A request body grew past the route's proxy-body-size while it was streamed upstream.",
  action: 'The client got 413. Raise proxy-body-size on that Ingress if such bodies are legitimate.',
}) {}

/** An SSL-passthrough relay could not connect to its endpoint within the backend's connect timeout. */
export class ConnectTimeoutError extends coded('STICKY_ERR_PROXY_CONNECT_TIMEOUT', {
  meaning: 'A raw relay (SSL passthrough) did not connect to its endpoint within the connect timeout.',
  action:
    'The endpoint counts a failure toward passive health and the next one is tried; check the pod and its network.',
}) {}

/** A try abandoned at its response head: the status is one proxy-next-upstream lists (e.g. http_502). */
export class NextUpstreamError extends coded('STICKY_ERR_PROXY_NEXT_UPSTREAM', {
  meaning:
    "An endpoint answered a status the route's proxy-next-upstream lists; that response was dropped unseen and the request went to another endpoint.",
  action:
    'Nothing, if the retry succeeded. Many of these point at an unhealthy endpoint: check its logs and the retries metric.',
}) {}

/** Why an exchange on our HTTP/1.1 upstream client failed (src/dataplane/upstream/h1-client.ts). */
export type H1Reason =
  | 'H1_ERR_BAD_STATUS'
  | 'H1_ERR_BAD_HEADER'
  | 'H1_ERR_BARE_LF'
  | 'H1_ERR_HEAD_TOO_LARGE'
  | 'H1_ERR_BAD_LENGTH'
  | 'H1_ERR_CL_AND_TE'
  | 'H1_ERR_BAD_TE'
  | 'H1_ERR_BAD_CHUNK'
  | 'H1_ERR_UNEXPECTED_101'
  | 'H1_ERR_TRAILING_BYTES'
  | 'H1_ERR_CLOSED'
  | 'H1_ERR_CONNECT_TIMEOUT'
  | 'H1_ERR_READ_TIMEOUT'
  | 'H1_ERR_INVALID_REQUEST'
  | 'H1_ERR_POOL_CLOSED'
  | 'H1_ERR_ABORTED';

/**
 * An upstream exchange on our HTTP/1.1 client failed; `reason` says how (framing errors mean the response is
 * refused with 502, never relayed; timeouts are 504). One code, so logs group them; match `reason` for detail.
 */
export class H1Error extends StickyError {
  static readonly code = 'STICKY_ERR_UPSTREAM_HTTP1';
  static readonly doc: ErrorDoc = {
    meaning:
      'An upstream HTTP/1.1 exchange on the built-in client failed: a malformed or ambiguous response (bad status line, Content-Length with Transfer-Encoding, bad chunk, bare LF, head over 16 KiB, bytes after the response), a connect or read timeout, or a closed connection. The `reason` field names which (H1_ERR_*).',
    action:
      'The client got 502 (504 for timeouts). A framing reason means the backend sent something a proxy must not guess at: fix the backend, or run with `--upstream-client undici` to compare.',
  };
  readonly reason: H1Reason;
  constructor(reason: H1Reason, message: string) {
    super(H1Error.code, message);
    this.reason = reason;
  }
}

/** An h2 WebSocket tunnel (RFC 8441) got an upgrade answer head it could not turn into an h2 response. */
export class H2TunnelHeadError extends coded('STICKY_ERR_PROXY_H2_TUNNEL_HEAD', {
  meaning: 'The answer to a WebSocket over HTTP/2 (extended CONNECT) had an unreadable or oversize head.',
  action:
    'That stream was reset; the client may retry. Check what the backend answers to WebSocket upgrades.',
}) {}

/** A catalogue entry: a StickyError subclass with its code and documentation. */
export interface CatalogueEntry {
  readonly name: string;
  readonly code: string;
  readonly doc: ErrorDoc;
}

/** Every error class of sticky-ingress, in the order docs/errors.md lists them. */
export const ERROR_CATALOGUE: readonly CatalogueEntry[] = [
  UsageError,
  ConfigError,
  InvalidDurationError,
  InvalidOptionError,
  InvalidCidrError,
  AlreadyStartedError,
  ShutDownError,
  BadCertificateError,
  ClientClosedError,
  UpgradeTimeoutError,
  KubeRequestError,
  KubeConfigError,
  RenewDeadlineError,
  ManifestFolderError,
  WorkerStartError,
  DeltaMismatchError,
  BuildThreadError,
  SchemaGenerationError,
  RegexError,
  BodyTooLargeError,
  ConnectTimeoutError,
  NextUpstreamError,
  H1Error,
  H2TunnelHeadError,
];
