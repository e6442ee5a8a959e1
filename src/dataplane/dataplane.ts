import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { AlreadyStartedError, ShutDownError } from '../shared/errors.ts';
import { listen } from '../shared/listen.ts';
import { emptySnapshot, type Snapshot } from '../snapshot/index.ts';
import { CidrSet } from './front/cidr.ts';
import { createPlainListener, createTlsListener, setDefaultCertificate } from './front/listeners.ts';
import { installPassthrough, type PassthroughFront, PassthroughTable } from './front/passthrough.ts';
import {
  installProxyProtocol,
  type ProxyProtocolFront,
  type ProxyProtocolMode,
} from './front/proxy-accept.ts';
import { requestDetails } from './front/request-details.ts';
import { recordDecision, requestFacts } from './front/request-facts.ts';
import { generateDefaultCertificate } from './front/self-signed.ts';
import { TlsContexts } from './front/tls-context.ts';
import { TicketKeys } from './front/tls-tickets.ts';
import { Exchange } from './http/exchange.ts';
import { applyHeaderEdits } from './http/header-edits.ts';
import { setHeaders } from './http/header-list.ts';
import { PoolMap, upstreamHeaders } from './http/http-proxy.ts';
import { DrainTracker } from './lifecycle/drain.ts';
import type { DataplaneObserver } from './observe/observer.ts';
import { validateOptions } from './options.ts';
import { type CompiledConfig, compileSnapshot, pinnedBackend } from './routing/compile.ts';
import { decide, noEndpoint } from './routing/decide.ts';
import { RateLimiters } from './routing/rate-limits.ts';
import { requestHashKey } from './upstream/hash-key.ts';
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
}

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
  #upgrades: UpgradeHandler;
  #tls: TlsContexts | undefined;
  #tickets: TicketKeys;
  #http: Server | undefined;
  #https: HttpsServer | undefined;
  #ports = { http: 0, https: 0 };
  #proxyFronts: ProxyProtocolFront[] = [];
  #passthrough: PassthroughTable;
  #passthroughFront: PassthroughFront | undefined;
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  #ctx;

  constructor(options: DataplaneOptions) {
    validateOptions(options);
    this.#options = options;
    this.#logger = options.logger;
    this.#trusted = new CidrSet(options.trustedProxies);
    this.#proxyTrusted = new CidrSet(options.proxyProtocolTrusted ?? []);
    this.#pools = new PoolMap({ maxConnections: options.maxUpstreamConnections ?? 512 });
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
    this.#ctx = {
      pools,
      logger: this.#logger,
      observer: options.observer,
      get draining(): boolean {
        return drain.draining;
      },
      requestEnded: () => drain.requestEnded(),
      tunnelEnded: () => drain.tunnelEnded(),
    };
    this.#upgrades = new UpgradeHandler(
      this.#ctx,
      this.#trusted,
      (secure) => this.#publicPort(secure),
      options.maxTunnels ?? 20_000,
      this.#limits,
    );
    this.#config = compileSnapshot<BackendState>(emptySnapshot(), () => undefined);
    this.#passthrough = new PassthroughTable(emptySnapshot(), () => undefined);
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
    this.#tls = new TlsContexts({ logger: this.#logger, fallback });
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
    this.#https = createTlsListener(limits, handlers, this.#tls, o.observer, this.#tickets);
    // Passthrough first, then PROXY in front of it: the SNI peek sees the client address PROXY carried.
    this.#passthroughFront = installPassthrough(this.#https, {
      table: () => this.#passthrough,
      observer: o.observer,
      timeoutMs: o.requestHeaderTimeoutMs,
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

  /** Swaps in `snapshot`; false (nothing done) when its hash equals the current one. */
  apply(snapshot: Snapshot): boolean {
    if (this.#state === 'stopped') throw new ShutDownError('dataplane');
    if (snapshot.hash === this.#config.snapshot.hash) return false;
    this.upstreams.update(snapshot.backends, snapshot.certificates);
    const upstreams = this.upstreams;
    const config = compileSnapshot(snapshot, (id) => upstreams.backend(id), this.#config);
    if (this.#tls?.update(snapshot) && this.#https !== undefined) {
      setDefaultCertificate(this.#https, this.#tls, this.#tickets);
    }
    this.#config = config;
    this.#limits.update(snapshot.hosts.flatMap((h) => h.routes));
    this.#passthrough = new PassthroughTable(snapshot, (id) => upstreams.backend(id));
    if (this.#pools.size > 0) this.#pools.prune(this.upstreams.backends());
    return true;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse, secure: boolean): void {
    this.#drain.requestStarted();
    // Any Upgrade that reaches the HTTP path is not a WebSocket one (listeners' shouldUpgradeCallback): it is
    // served as a plain request, its Upgrade and Connection-nominated headers stripped (RFC 9110 7.8).
    const { facts, record, fwd } = requestFacts(
      req,
      secure,
      this.#trusted,
      (s) => this.#publicPort(s),
      'none',
    );
    const ex = new Exchange(this.#ctx, req, res, record);
    const decision = decide(this.#config, { ...facts, ...requestDetails(req) });
    recordDecision(record, decision);
    if (decision.kind === 'local') {
      ex.local(decision.status, decision.hsts, decision.headers);
      return;
    }
    if (decision.kind === 'redirect') {
      ex.redirect(decision.status, decision.location);
      return;
    }
    // limit-rps / limit-rpm / limit-connections: stateful, so here rather than in the pure decide().
    const release = this.#limits.admit(decision.route.route, facts.clientAddress, performance.now());
    if (release === undefined) {
      ex.local(503, secure ? decision.route.hsts : undefined);
      return;
    }
    if (release !== null) res.once('close', release);
    // sessionPersistence wins over a weighted split: a request pinned to one of the split's backends stays there.
    const backend = pinnedBackend(decision.route, decision.backend, req.headers.cookie);
    const sid = backend.sidOf(decision.target, req.method ?? '');
    if (sid.kind === 'forged') {
      // Not a sid we sealed: an error, never a random pod (affinity-sid.ts).
      ex.local(400, secure ? decision.route.hsts : undefined);
      return;
    }
    const token = sid.kind === 'sealed' ? sid.token : undefined;
    const hashKey = requestHashKey(backend.config, facts.clientAddress, req);
    const selection = backend.pick(req.headers.cookie, secure, undefined, token, hashKey);
    if (selection === undefined) {
      const none = noEndpoint(decision, secure);
      ex.local(none.status, none.hsts);
      return;
    }
    ex.sealSid = sid.kind === 'none' && sid.handshake;
    record.affinity = selection.affinity;
    // Absolute-form: the target's authority replaced Host (RFC 9112 3.2.2), for X-Forwarded-Host too.
    if (fwd.host === (req.headers.host ?? '')) fwd.host = decision.authority;
    const headers = applyHeaderEdits(
      setHeaders(upstreamHeaders(req, fwd, decision.upstreamHost), decision.requestHeaders),
      decision.route.filters?.request,
    );
    ex.answerWith(decision.responseHeaders, decision.route.route.maxBodyBytes);
    ex.proxy(
      decision.route,
      backend,
      selection.endpoint,
      selection.setCookie,
      secure,
      headers,
      sid.kind === 'sealed' ? sid.target : decision.target,
    );
  }

  /**
   * Graceful stop: draining at once, listeners stop accepting, idle keep-alive sockets close, in-flight requests
   * get until the deadline, then open tunnels and anything left are closed.
   */
  async shutdown(opts: { drainTimeoutMs: number }): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#drain.start();
    const servers = [this.#http, this.#https].filter((s) => s !== undefined);
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const s of servers) s.closeIdleConnections();
    for (const f of this.#proxyFronts) f.close();
    await this.#drain.settled(opts.drainTimeoutMs, () => this.#upgrades.tunnels);
    this.#upgrades.closeAll();
    this.#passthroughFront?.close();
    for (const s of servers) s.closeAllConnections();
    // Destroyed sockets report 'close' on a later tick; wait so every tunnel is released and observed.
    await this.#drain.settled(1_000, () => this.#upgrades.tunnels);
    await closed;
    await this.#pools.close(true);
    this.#tickets.close();
    this.upstreams.close();
    this.#logger.info('dataplane stopped');
  }
}
