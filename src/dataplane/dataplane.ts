import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { AlreadyStartedError, ShutDownError } from '../shared/errors.ts';
import { listen } from '../shared/listen.ts';
import { emptySnapshot, type RateLimits, type Snapshot } from '../snapshot/index.ts';
import { CidrSet } from './front/cidr.ts';
import type { H2CloseReason, H2Front } from './front/h2-front.ts';
import { createPlainListener, createTlsListener, setDefaultCertificate } from './front/listeners.ts';
import { installPassthrough, type PassthroughFront, PassthroughTable } from './front/passthrough.ts';
import {
  installProxyProtocol,
  type ProxyProtocolFront,
  type ProxyProtocolMode,
} from './front/proxy-accept.ts';
import { recordDecision, requestFacts } from './front/request-facts.ts';
import { generateDefaultCertificate } from './front/self-signed.ts';
import { TlsContexts } from './front/tls-context.ts';
import { TicketKeys } from './front/tls-tickets.ts';
import { chooseEndpoint } from './http/choose-endpoint.ts';
import { Exchange } from './http/exchange.ts';
import { applyHeaderEdits } from './http/header-edits.ts';
import { setHeaders } from './http/header-list.ts';
import { PoolMap, type UpstreamClient, upstreamHeaders } from './http/http-proxy.ts';
import { errorAnswer, sendAnswer } from './http/responses.ts';
import { connectionsGone, DrainTracker, stopAccepting } from './lifecycle/drain.ts';
import { MemoryReclaim, type ReclaimPolicy } from './lifecycle/memory-reclaim.ts';
import { type DataplaneObserver, notifyH2Closed, notifyUpstream } from './observe/observer.ts';
import { validateOptions } from './options.ts';
import { type CompiledConfig, compileSnapshot } from './routing/compile.ts';
import { type Decision, decide, type RequestFacts } from './routing/decide.ts';
import { RateLimiters } from './routing/rate-limits.ts';
import { Swapper } from './swap.ts';
import { type BackendState, Upstreams } from './upstream/upstreams.ts';
import { UpgradeHandler } from './websocket/upgrade.ts';

export type { DataplaneObserver, RequestRecord } from './observe/observer.ts';

/** Construction options; validated by the constructor (InvalidOptionError, code STICKY_ERR_OPTION_INVALID). */
export interface DataplaneOptions {
  bindAddress: string;
  httpPort: number;
  httpsPort: number;
  /**
   * Ports clients connect to (the Service's, e.g. 443), for redirect Locations and X-Forwarded-Port; unset:
   * the bound listen port. Behind a Service the listen port (8443) is one no client can reach.
   */
  publicHttpsPort?: number;
  publicHttpPort?: number;
  /** HMAC key of the affinity cookie; replicas sharing it pin clients identically. */
  affinityKey: Buffer;
  /** CIDRs whose X-Forwarded-* headers are believed; everyone else's are overwritten. */
  trustedProxies: string[];
  maxHeaderSize: number;
  requestHeaderTimeoutMs: number;
  keepAliveTimeoutMs: number;
  logger: Logger;
  observer?: DataplaneObserver;
  /**
   * Caps (defaults in cmd/config.ts): client connections per listener (beyond: closed at once), open WebSocket
   * tunnels (beyond: 503 to the upgrade), connections per upstream endpoint (beyond: requests wait in the pool).
   */
  maxClientConnections?: number;
  maxTunnels?: number;
  maxUpstreamConnections?: number;
  /** HTTP/1.1 client of the plain-HTTP upstream hop (docs/architecture.md); default raw (ours). */
  upstreamClient?: UpstreamClient;
  /** TLS session-ticket key rotation period (default 1 h); keys derive from affinityKey and the window. */
  ticketKeyWindowMs?: number;
  /**
   * PROXY protocol (v1/v2) per listener (default off): read from peers in `proxyProtocolTrusted` only; strict
   * closes a trusted peer that sends none. The header must arrive within requestHeaderTimeoutMs.
   */
  proxyProtocol?: { http?: ProxyProtocolMode; https?: ProxyProtocolMode };
  /** CIDRs allowed to send a PROXY header (the load balancer); required when proxyProtocol is on. */
  proxyProtocolTrusted?: string[];
  /** Clock of the ticket-key windows (tests); default Date.now. */
  clock?: () => number;
  /** Dataplane processes sharing the per-client limits (`--workers`): each admits limit / share. Default 1. */
  rateLimitShare?: number;
  /** HTTP/2 for clients on the HTTPS listener (ALPN h2, then http/1.1); default off. */
  http2?: boolean;
  /**
   * Key-exchange groups the HTTPS listener offers, colon-separated in preference order (OpenSSL names, e.g.
   * `X25519:P-256`); default OpenSSL's list, post-quantum hybrid X25519MLKEM768 first. Dropping the hybrid
   * saves ~5 KiB per idle wss tunnel (~10 KiB per bare TLS connection) and gives up forward secrecy against a
   * future quantum computer.
   */
  tlsGroups?: string;
  /** Streams one h2 connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS); default 128. */
  http2MaxConcurrentStreams?: number;
  /**
   * A memory-reducing full collection (`serve` passes V8's): run once open tunnels fell by reclaimPolicy.minDrop
   * and closes went quiet, so their memory goes back to the system (lifecycle/memory-reclaim.ts). Unset: never.
   */
  reclaimMemory?: () => void;
  /** When reclaimMemory runs; default DEFAULT_RECLAIM_POLICY (500 tunnels down, 5 s without a close, 1/min). */
  reclaimPolicy?: ReclaimPolicy;
}

/** After the drain deadline, how long WebSockets get to answer our close frame 1001 before they are destroyed. */
const CLOSE_GRACE_MS = 2_000;

/**
 * At a drain, how long a connection accepted just before the listener closed gets to send its request before
 * the idle connections are closed (bounded by the drain timeout; over at once when no connection is open).
 */
const FRESH_CONNECTION_GRACE_MS = 1_000;

/**
 * The traffic side: HTTP and HTTPS listeners serving the current snapshot. apply() swaps the snapshot with one
 * assignment; each request reads it once, so in-flight requests and tunnels are never disturbed.
 */
export class Dataplane {
  /** Endpoint state and balancing, kept across swaps (stats read it). */
  readonly upstreams: Upstreams;
  #options: DataplaneOptions;
  #logger: Logger;
  #trusted: CidrSet;
  #proxyTrusted: CidrSet;
  #config: CompiledConfig<BackendState>;
  #pools: PoolMap;
  #limits: RateLimiters;
  #drain = new DrainTracker();
  #reclaim: MemoryReclaim | undefined;
  #upgrades: UpgradeHandler;
  #tls: TlsContexts | undefined;
  #tickets: TicketKeys;
  #http: Server | undefined;
  #https: HttpsServer | undefined;
  #ports = { http: 0, https: 0 };
  #proxyFronts: ProxyProtocolFront[] = [];
  #passthrough: PassthroughTable;
  #swapper: Swapper;
  #passthroughFront: PassthroughFront | undefined;
  #h2: H2Front | undefined;
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  /** #publicPort as one function for every request (not a closure per request). */
  #publicPortOf = (secure: boolean): number => this.#publicPort(secure);
  #ctx;

  constructor(options: DataplaneOptions) {
    validateOptions(options);
    this.#options = options;
    this.#logger = options.logger;
    this.#trusted = new CidrSet(options.trustedProxies);
    this.#proxyTrusted = new CidrSet(options.proxyProtocolTrusted ?? []);
    this.#pools = new PoolMap({
      maxConnections: options.maxUpstreamConnections ?? 512,
      client: options.upstreamClient ?? 'raw',
    });
    this.#tickets = new TicketKeys({
      secret: options.affinityKey,
      windowMs: options.ticketKeyWindowMs ?? 3_600_000,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    this.#limits = new RateLimiters(options.rateLimitShare);
    this.upstreams = new Upstreams({
      affinityKey: options.affinityKey,
      onConfigProblem: (backend, message) =>
        this.#logger.warn(
          { backend: backend.id, source: backend.source },
          `backend ${backend.id}: ${message}`,
        ),
    });
    const drain = this.#drain;
    const pools = this.#pools;
    const reclaim = options.reclaimMemory === undefined ? undefined : this.#memoryReclaim(options);
    this.#reclaim = reclaim;
    this.#ctx = {
      pools,
      logger: this.#logger,
      observer: options.observer,
      get draining(): boolean {
        return drain.draining;
      },
      notify: (event: 'failure' | 'retry', backend: string, endpoint: string) =>
        notifyUpstream(options.observer, event, backend, endpoint),
      requestEnded: () => drain.requestEnded(),
      tunnelEnded: () => {
        drain.tunnelEnded();
        reclaim?.tunnelClosed();
      },
    };
    this.#upgrades = new UpgradeHandler(
      this.#ctx,
      this.#trusted,
      (secure) => this.#publicPort(secure),
      options.maxTunnels ?? 20_000,
      this.#limits,
      () => this.#passthroughFront?.open ?? 0,
    );
    this.#config = compileSnapshot<BackendState>(emptySnapshot(), () => undefined);
    this.#passthrough = new PassthroughTable(emptySnapshot(), () => undefined);
    this.#swapper = new Swapper({
      upstreams: this.upstreams,
      limits: this.#limits,
      pools,
      tls: () => this.#tls,
      defaultChanged: () => {
        if (this.#https !== undefined && this.#tls !== undefined) {
          setDefaultCertificate(this.#https, this.#tls, this.#tickets);
        }
      },
      incrementalFailed: (err) => {
        this.#logger.error(
          { err },
          'incremental configuration apply failed part-way; applied in full instead',
        );
      },
    });
  }

  #memoryReclaim(o: DataplaneOptions): MemoryReclaim {
    return new MemoryReclaim({
      reclaim: o.reclaimMemory as () => void,
      open: () => this.#upgrades.tunnels,
      ...(o.reclaimPolicy ? { policy: o.reclaimPolicy } : {}),
      report: (r) =>
        this.#logger.info(
          { peakTunnels: r.peak, openTunnels: r.open, ms: Math.round(r.ms) },
          'memory reclaimed after tunnels closed',
        ),
    });
  }

  /** Ports actually bound (meaningful after start(); port 0 in the options picks a free one). */
  get ports(): { readonly http: number; readonly https: number } {
    return this.#ports;
  }

  /** The port a client connected to for `secure` (HTTPS) or plain requests, as it sees it. */
  #publicPort(secure: boolean): number {
    const o = this.#options;
    return secure ? (o.publicHttpsPort ?? this.#ports.https) : (o.publicHttpPort ?? this.#ports.http);
  }

  /** The snapshot being served. */
  get current(): Snapshot {
    return this.#config.snapshot;
  }

  /** True from the moment shutdown() is called. */
  get draining(): boolean {
    return this.#drain.draining;
  }

  /** Generates the fallback certificate, then binds both listeners. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new AlreadyStartedError('dataplane');
    this.#state = 'starting';
    const fallback = await generateDefaultCertificate();
    this.#tls = new TlsContexts({ logger: this.#logger, fallback, groups: this.#options.tlsGroups });
    this.#tls.update(this.current);
    const o = this.#options;
    const limits = { ...o, maxClientConnections: o.maxClientConnections ?? 20_000 };
    const handlers = {
      request: (req: IncomingMessage, res: ServerResponse, secure: boolean) =>
        this.#onRequest(req, res, secure),
      upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean) =>
        this.#upgrades.handle(this.#config, req, socket, head, secure),
    };
    this.#http = createPlainListener(limits, handlers, o.observer);
    const http2 =
      o.http2 === true
        ? {
            limits: {
              maxConcurrentStreams: o.http2MaxConcurrentStreams ?? 128,
              maxHeaderListSize: o.maxHeaderSize,
              idleTimeoutMs: o.keepAliveTimeoutMs,
              prefaceTimeoutMs: o.requestHeaderTimeoutMs,
            },
            malformed: (res: ServerResponse) => sendAnswer(res, errorAnswer(400, undefined, false)),
            closed: (reason: H2CloseReason) => notifyH2Closed(o.observer, reason),
          }
        : undefined;
    const tls = createTlsListener(limits, handlers, this.#tls, o.observer, this.#tickets, http2);
    this.#https = tls.server;
    this.#h2 = tls.h2;
    // Passthrough first, then PROXY in front of it: the SNI peek sees the client address PROXY carried.
    this.#passthroughFront = installPassthrough(this.#https, {
      table: () => this.#passthrough,
      observer: o.observer,
      timeoutMs: o.requestHeaderTimeoutMs,
      // One budget with the WebSocket tunnels: each relay holds two sockets as long as the client likes.
      admit: () => this.#upgrades.tunnels + (this.#passthroughFront?.open ?? 0) < (o.maxTunnels ?? 20_000),
    });
    this.#installProxyProtocol(this.#http, o.proxyProtocol?.http, true);
    this.#installProxyProtocol(this.#https, o.proxyProtocol?.https, false);
    this.#ports = {
      http: await listen(this.#http, o.bindAddress, o.httpPort),
      https: await listen(this.#https, o.bindAddress, o.httpsPort),
    };
    this.#state = 'running';
    this.#logger.info({ ports: this.#ports, bindAddress: o.bindAddress }, 'dataplane listening');
  }

  #installProxyProtocol(server: Server | HttpsServer, mode: ProxyProtocolMode | undefined, plain: boolean) {
    if (mode === undefined || mode === 'off') return;
    const o = this.#options;
    const policy = { mode, trusted: this.#proxyTrusted, timeoutMs: o.requestHeaderTimeoutMs };
    this.#proxyFronts.push(installProxyProtocol(server, policy, o.observer, plain));
  }

  /**
   * Swaps in `snapshot`; false (nothing done) when its hash equals the current one. Costs what changed when
   * `snapshot` keeps the builder's contract (swap.ts): unchanged parts are the previous snapshot's objects.
   */
  apply(snapshot: Snapshot): boolean {
    if (this.#state === 'stopped') throw new ShutDownError('dataplane');
    if (snapshot.hash === this.#config.snapshot.hash) return false;
    const live = this.#swapper.swap({ config: this.#config, passthrough: this.#passthrough }, snapshot);
    this.#config = live.config;
    this.#passthrough = live.passthrough;
    return true;
  }

  /** What the live configuration decides for `facts` (the requests' own decide(); explain, tests). */
  decide(facts: RequestFacts): Decision<BackendState> {
    return decide(this.#config, facts);
  }

  /** The backend a passthrough connection for `sni` is relayed to, if any (explain, tests). */
  passthroughBackend(sni: string): BackendState | undefined {
    return this.#passthrough.find(sni);
  }

  /** The per-client limits in force for `routeId`, if any (explain, tests). */
  routeLimits(routeId: string): RateLimits | undefined {
    return this.#limits.limitsOf(routeId);
  }

  #onRequest(req: IncomingMessage, res: ServerResponse, secure: boolean): void {
    this.#drain.requestStarted();
    // Any Upgrade that reaches the HTTP path is not a WebSocket one (listeners' shouldUpgradeCallback): it is
    // served as a plain request, its Upgrade and Connection-nominated headers stripped (RFC 9110 7.8).
    const { facts, record, fwd } = requestFacts(req, secure, this.#trusted, this.#publicPortOf, 'none', true);
    const ex = new Exchange(this.#ctx, req, res, record);
    const decision = decide(this.#config, facts);
    recordDecision(record, decision);
    if (decision.kind === 'local') {
      ex.local(decision.status, decision.hsts, decision.headers);
      return;
    }
    if (decision.kind === 'redirect') {
      ex.redirect(decision.status, decision.location);
      return;
    }
    const chosen = chooseEndpoint(decision, this.#limits, req, req.method ?? '', facts.clientAddress, secure);
    if (chosen.kind === 'refused') {
      ex.local(chosen.status, chosen.hsts);
      return;
    }
    if (chosen.release !== null) res.once('close', chosen.release);
    record.affinity = chosen.selection.affinity;
    // Absolute-form: the target's authority replaced Host (RFC 9112 3.2.2), for X-Forwarded-Host too.
    if (fwd.host === (req.headers.host ?? '')) fwd.host = decision.authority;
    const headers = applyHeaderEdits(
      setHeaders(upstreamHeaders(req, fwd, decision.upstreamHost), decision.requestHeaders),
      decision.route.filters?.request,
    );
    ex.proxy(decision, chosen, secure, headers);
  }

  /**
   * Graceful stop: draining at once, listeners stop accepting, connections accepted just before get up to 1 s to
   * send their request, then idle keep-alive sockets close; in-flight requests get until the deadline; then open
   * WebSockets get a close frame 1001 and `closeGraceMs` (default 2 s) to answer it, and anything left is
   * destroyed.
   */
  async shutdown(opts: { drainTimeoutMs: number; closeGraceMs?: number }): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#drain.start();
    // Shutdown closes every tunnel: no point collecting for a process about to exit.
    this.#reclaim?.close();
    const started = performance.now();
    const servers = [this.#http, this.#https].filter((s) => s !== undefined);
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => stopAccepting(s, resolve))));
    // h2 has no idle keep-alive socket to close: GOAWAY lets open streams finish and refuses new ones.
    this.#h2?.drain();
    for (const f of this.#proxyFronts) f.close();
    // A connection accepted just before the listener closed may not have sent its request yet; within the
    // grace it is answered (with `Connection: close`) rather than reset. Then the idle keep-alive ones close.
    await connectionsGone(servers, Math.min(FRESH_CONNECTION_GRACE_MS, opts.drainTimeoutMs));
    for (const s of servers) s.closeIdleConnections();
    const left = Math.max(0, opts.drainTimeoutMs - (performance.now() - started));
    await this.#drain.settled(left, () => this.#upgrades.tunnels);
    // RFC 6455 7.1.2 / 7.4.1: a server going away closes with 1001 at a frame boundary, so clients see a clean
    // close (and reconnect elsewhere) rather than a dropped connection (1006); the grace bounds the handshake.
    this.#upgrades.goAway();
    // Plain requests still in flight end at the deadline (node:http no longer tracks upgraded sockets).
    for (const s of servers) s.closeAllConnections();
    this.#passthroughFront?.close();
    this.#h2?.close();
    await this.#drain.settled(opts.closeGraceMs ?? CLOSE_GRACE_MS, () => this.#upgrades.tunnels);
    this.#upgrades.closeAll();
    // Destroyed sockets report 'close' on a later tick; wait so every tunnel is released and observed.
    await this.#drain.settled(1_000, () => this.#upgrades.tunnels);
    await closed;
    await this.#pools.close(true);
    this.#tickets.close();
    this.upstreams.close();
    this.#logger.info('dataplane stopped');
  }
}
