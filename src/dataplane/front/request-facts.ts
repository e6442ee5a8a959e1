import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { RequestRecord } from '../observe/observer.ts';
import type { Decision, RequestFacts } from '../routing/decide.ts';
import type { CidrSet } from './cidr.ts';
import { type Forwarded, forwardedFor } from './forwarded.ts';
import { requestDetails } from './request-details.ts';

// The TLS version of a connection, read once per socket (a keep-alive connection carries many requests).
const kTlsVersion = Symbol('sticky.tlsVersion');
type TlsSocketFacts = TLSSocket & { servername?: string | false; [kTlsVersion]?: string };

/**
 * What a request says, read once from the socket and headers for decide(), with its access-log record started
 * and the forwarded values computed (the client address decide() checks access against is the one they trust).
 * `publicPort(secure)` is the port the client connected to (the Service's), for redirects and X-Forwarded-Port.
 * `details`: the facts carry requestDetails() too (headers, cookies, the canary roll), in the same object.
 */
export function requestFacts(
  req: IncomingMessage,
  secure: boolean,
  trusted: CidrSet,
  publicPort: (secure: boolean) => number,
  upgrade: RequestFacts['upgrade'],
  details = false,
): { facts: RequestFacts; record: RequestRecord; fwd: Forwarded } {
  const record = new RequestRecord();
  record.startTime = Date.now();
  record.startMono = performance.now();
  record.method = req.method ?? '';
  // An h2 request (compat API, or an extended CONNECT) has its stream; httpVersionMajor is what an HTTP/1.1
  // request line claims, and node's parser accepts `HTTP/2.0` there.
  if ((req as { stream?: unknown }).stream !== undefined) record.protocol = 'h2';
  if (secure) {
    const socket = req.socket as TlsSocketFacts;
    let version = socket[kTlsVersion];
    if (version === undefined) {
      version = socket.getProtocol() ?? '';
      socket[kTlsVersion] = version;
    }
    record.tlsVersion = version;
    record.sni = socket.servername || '';
  }
  const fwd = forwardedFor(req, secure, trusted, publicPort(secure));
  record.clientAddress = fwd.realIp;
  const d = details ? requestDetails(req) : undefined;
  const facts: RequestFacts = {
    method: record.method,
    target: req.url ?? '',
    host: req.headers.host,
    secure,
    clientAddress: fwd.realIp,
    upgrade,
    httpsPort: publicPort(true),
    draining: false,
    header: d?.header,
    cookie: d?.cookie,
    roll: d?.roll,
    pinned: d?.pinned,
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
