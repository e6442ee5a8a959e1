import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CidrSet } from '../front/cidr.ts';
import { requestDetails } from '../front/request-details.ts';
import { recordDecision, requestFacts } from '../front/request-facts.ts';
import { applyHeaderEdits } from '../http/header-edits.ts';
import { errorAnswer, type LocalAnswer, rawAnswer, redirectAnswer } from '../http/responses.ts';
import { notifyRejected, type RequestRecord } from '../observe/observer.ts';
import { type CompiledConfig, pinnedBackend } from '../routing/compile.ts';
import { decide, noEndpoint, upgradeKind } from '../routing/decide.ts';
import type { RateLimiters } from '../routing/rate-limits.ts';
import type { BackendState } from '../upstream/backend-state.ts';
import { requestHashKey } from '../upstream/hash-key.ts';
import { upgradeRequestHeaders } from './ws-head.ts';
import { type TunnelContext, WsProxy } from './ws-proxy.ts';

/**
 * Upgrade requests (only GET + `Upgrade: websocket` reach here; listeners hand any other Upgrade to the HTTP
 * path): decided by decide() like any request, answered on the raw socket with the HTTP path's answers when
 * they cannot be tunnelled, otherwise handed to the WsProxy with forwarded headers set.
 */
export class UpgradeHandler {
  #ws: WsProxy;
  #ctx: TunnelContext & { readonly draining: boolean };
  #trusted: CidrSet;
  #publicPort: (secure: boolean) => number;
  #maxTunnels: number;
  #limits: RateLimiters;

  /**
   * `publicPort(secure)`: the port the client connected to, for redirects and X-Forwarded-Port;
   * `maxTunnels`: open tunnels (handshakes included) beyond which an upgrade gets 503; `limits`: the same
   * per-client limiters as the HTTP path (one object, so an upgrade and a request draw on one budget).
   */
  constructor(
    ctx: TunnelContext & { readonly draining: boolean },
    trusted: CidrSet,
    publicPort: (secure: boolean) => number,
    maxTunnels: number,
    limits: RateLimiters,
  ) {
    this.#ctx = ctx;
    this.#ws = new WsProxy(ctx);
    this.#trusted = trusted;
    this.#publicPort = publicPort;
    this.#maxTunnels = maxTunnels;
    this.#limits = limits;
  }

  /** Open tunnels. */
  get tunnels(): number {
    return this.#ws.size;
  }

  /** Destroys every open tunnel. */
  closeAll(): void {
    this.#ws.closeAll();
  }

  /** Decides and tunnels one Upgrade request read from `config` (the snapshot current at arrival). */
  handle(
    config: CompiledConfig<BackendState>,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    secure: boolean,
  ): void {
    socket.on('error', ignore);
    const upgrade = upgradeKind(req.method, req.headers.upgrade);
    const { facts, record, fwd } = requestFacts(req, secure, this.#trusted, this.#publicPort, upgrade);
    record.tunnel = true;
    const decision = decide(config, { ...facts, ...requestDetails(req), draining: this.#ctx.draining });
    recordDecision(record, decision);
    if (decision.kind === 'local') {
      this.#reply(socket, record, errorAnswer(decision.status, decision.hsts, true));
      return;
    }
    if (decision.kind === 'redirect') {
      this.#reply(socket, record, redirectAnswer(decision.status, decision.location, true));
      return;
    }
    if (!decision.tunnel) {
      this.#reply(socket, record, errorAnswer(400, undefined, true));
      return;
    }
    if (this.#ws.size >= this.#maxTunnels) {
      // Each tunnel holds two sockets for as long as the client likes: the cap keeps file descriptors and
      // memory for plain requests. Counted, so an operator sees the cap being hit.
      notifyRejected(this.#ctx.observer, 'tunnels');
      this.#reply(socket, record, errorAnswer(503, undefined, true));
      return;
    }
    // limit-*: a WebSocket upgrade is a request like any other (ingress-nginx limits it the same way), and
    // an open tunnel is a connection in progress for limit-connections until its client socket closes.
    const release = this.#limits.admit(decision.route.route, facts.clientAddress, performance.now());
    if (release === undefined) {
      this.#reply(socket, record, errorAnswer(503, secure ? decision.route.hsts : undefined, true));
      return;
    }
    if (release !== null) socket.once('close', release);
    const backend = pinnedBackend(decision.route, decision.backend, req.headers.cookie);
    const hashKey = requestHashKey(backend.config, facts.clientAddress, req);
    const sid = backend.sidOf(decision.target, 'GET');
    if (sid.kind === 'forged') {
      this.#reply(socket, record, errorAnswer(400, undefined, true));
      return;
    }
    const selection = backend.pick(
      req.headers.cookie,
      secure,
      undefined,
      sid.kind === 'sealed' ? sid.token : undefined,
      hashKey,
    );
    if (selection === undefined) {
      const none = noEndpoint(decision, secure);
      this.#reply(socket, record, errorAnswer(none.status, none.hsts, true));
      return;
    }
    record.affinity = selection.affinity;
    if (fwd.host === (req.headers.host ?? '')) fwd.host = decision.authority;
    const up = {
      method: 'GET',
      path: sid.kind === 'sealed' ? sid.target : decision.target,
      headers: applyHeaderEdits(
        upgradeRequestHeaders(req, fwd, decision.upstreamHost),
        decision.route.filters?.request,
      ),
      head,
      cookie: req.headers.cookie,
      hashKey,
      secure,
      hsts: secure ? decision.route.hsts : undefined,
    };
    // Upgrade sockets from node:http and node:https are net.Socket / tls.TLSSocket.
    this.#ws.open(socket as Socket, up, record, backend, selection);
  }

  #reply(socket: Duplex, record: RequestRecord, answer: LocalAnswer): void {
    record.status = answer.status;
    socket.end(rawAnswer(answer));
    record.totalMs = performance.now() - record.startMono;
    const o = this.#ctx.observer;
    if (o !== undefined) {
      try {
        o.onRequest(record);
      } catch {}
    }
  }
}

function ignore(): void {}
