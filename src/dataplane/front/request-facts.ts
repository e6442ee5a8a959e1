import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { RequestRecord } from '../observe/observer.ts';
import type { Decision, RequestFacts } from '../routing/decide.ts';
import type { CidrSet } from './cidr.ts';
import { type Forwarded, forwardedFor } from './forwarded.ts';

/**
 * What a request says, read once from the socket and headers for decide(), with its access-log record started
 * and the forwarded values computed (the client address decide() checks access against is the one they trust).
 * `publicPort(secure)` is the port the client connected to (the Service's), for redirects and X-Forwarded-Port.
 */
export function requestFacts(
  req: IncomingMessage,
  secure: boolean,
  trusted: CidrSet,
  publicPort: (secure: boolean) => number,
  upgrade: RequestFacts['upgrade'],
): { facts: RequestFacts; record: RequestRecord; fwd: Forwarded } {
  const record = new RequestRecord();
  record.startTime = Date.now();
  record.startMono = performance.now();
  record.method = req.method ?? '';
  if (secure) {
    const socket = req.socket as TLSSocket & { servername?: string | false };
    record.tlsVersion = socket.getProtocol() ?? '';
    record.sni = socket.servername || '';
  }
  const fwd = forwardedFor(req, secure, trusted, publicPort(secure));
  record.clientAddress = fwd.realIp;
  const facts: RequestFacts = {
    method: record.method,
    target: req.url ?? '',
    host: req.headers.host,
    secure,
    clientAddress: fwd.realIp,
    upgrade,
    httpsPort: publicPort(true),
    draining: false,
  };
  return { facts, record, fwd };
}

/** Copies what `decision` matched into the access-log record. */
export function recordDecision<B>(record: RequestRecord, decision: Decision<B>): void {
  record.host = decision.host;
  record.path = decision.path;
  const route = decision.route;
  if (route === undefined) return;
  record.routeId = route.id;
  record.backendId = route.backendId;
  record.sourceNamespace = route.route.source.namespace;
  record.sourceName = route.route.source.name;
}
