import type { H2CloseReason } from '../front/h2-front.ts';
import type { PassthroughOutcome } from '../front/passthrough.ts';
import type { ProxyOutcome } from '../front/proxy-accept.ts';
/**
 * The per-request record the dataplane fills while it serves a request or a tunnel, and the observer hook
 * that receives it once at the end (access log, metrics). One record per request, mutated in place.
 */
export type AffinityDecision = 'none' | 'hit' | 'new' | 'reissued';

/** Everything known about one request or tunnel when it ends. Observers must not keep the object. */
export class RequestRecord {
  clientAddress = '';
  /** Epoch milliseconds at arrival. */
  startTime = 0;
  host = '';
  method = '';
  /** Path without the query string. */
  path = '';
  status = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Time from arrival until the upstream request was written (includes pool wait and TCP connect). */
  connectMs = -1;
  /** Time from arrival until the upstream response headers. */
  responseMs = -1;
  totalMs = 0;
  routeId = '';
  backendId = '';
  endpointId = '';
  affinity: AffinityDecision = 'none';
  retries = 0;
  /** `TLSv1.3`, `TLSv1.2`, or '' on the plain listener. */
  tlsVersion = '';
  sni = '';
  sourceNamespace = '';
  sourceName = '';
  tunnel = false;
  /** The client's HTTP version: `h1` (HTTP/1.x, every tunnel) or `h2` (--http2). */
  protocol: 'h1' | 'h2' = 'h1';
  /** performance.now() at arrival, for the durations. */
  startMono = 0;
}

/**
 * Receives one call per finished request / closed tunnel. Implementations must be cheap and must not throw;
 * the dataplane still guards every call so an observer bug never breaks traffic.
 */
export interface DataplaneObserver {
  onRequest(r: RequestRecord): void;
  /** A WebSocket tunnel is open (the upstream answered 101); followed by exactly one onTunnelClose. */
  onTunnelOpen?(r: RequestRecord): void;
  onTunnelClose(r: RequestRecord): void;
  onTlsHandshake?(ok: boolean, servername?: string): void;
  onRetry?(backendId: string, endpointId: string): void;
  onConnectFailure?(backendId: string, endpointId: string): void;
  /** Something refused by a cap: a client connection (`client_connections`) or a WebSocket (`tunnels`). */
  onRejected?(reason: RejectReason): void;
  /** One connection's PROXY protocol header was read, refused or skipped (see ProxyOutcome). */
  onProxyProtocol?(outcome: ProxyOutcome): void;
  /** One HTTPS connection's SNI peek ended in a relay (or failed one), or went to the terminating path. */
  onPassthrough?(outcome: PassthroughOutcome): void;
  /**
   * An SSL-passthrough relay ended: host and sni are the SNI, status 200 (relayed), 502 (no endpoint
   * connected) or 503 (no endpoint), bytes and duration of the client connection. One call per relay.
   */
  onRelayClose?(r: RequestRecord): void;
  /** We ended an HTTP/2 connection: no preface in time, or rapid reset (h2-front.ts). */
  onH2Closed?(reason: H2CloseReason): void;
}

/** Why a cap refused: over --max-client-connections on a listener, or over --max-tunnels. */
export type RejectReason = 'client_connections' | 'tunnels';

/** Reports a finished request; an observer's error never escapes. */
export function notifyRequest(observer: DataplaneObserver | undefined, r: RequestRecord): void {
  if (observer === undefined) return;
  try {
    observer.onRequest(r);
  } catch {}
}

/** Reports a refusal by a cap; an observer's error never escapes. */
export function notifyRejected(observer: DataplaneObserver | undefined, reason: RejectReason): void {
  try {
    observer?.onRejected?.(reason);
  } catch {}
}

/** Reports a PROXY protocol outcome; an observer's error never escapes. */
export function notifyProxyProtocol(observer: DataplaneObserver | undefined, outcome: ProxyOutcome): void {
  try {
    observer?.onProxyProtocol?.(outcome);
  } catch {}
}

/** Reports a passthrough outcome; an observer's error never escapes. */
export function notifyPassthrough(
  observer: DataplaneObserver | undefined,
  outcome: PassthroughOutcome,
): void {
  try {
    observer?.onPassthrough?.(outcome);
  } catch {}
}

/** Reports a finished passthrough relay; an observer's error never escapes. */
export function notifyRelayClose(observer: DataplaneObserver | undefined, r: RequestRecord): void {
  try {
    observer?.onRelayClose?.(r);
  } catch {}
}

/** Reports a connect failure (`failure`) or a retry onto another endpoint; an observer's error never escapes. */
export function notifyUpstream(
  observer: DataplaneObserver | undefined,
  event: 'failure' | 'retry',
  backendId: string,
  endpointId: string,
): void {
  if (observer === undefined) return;
  try {
    if (event === 'failure') observer.onConnectFailure?.(backendId, endpointId);
    else observer.onRetry?.(backendId, endpointId);
  } catch {}
}

/** Reports an HTTP/2 connection we ended; an observer's error never escapes. */
export function notifyH2Closed(observer: DataplaneObserver | undefined, reason: H2CloseReason): void {
  try {
    observer?.onH2Closed?.(reason);
  } catch {}
}
