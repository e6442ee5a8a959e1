import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type DataplaneObserver, notifyProxyProtocol } from '../observe/observer.ts';
import type { CidrSet } from './cidr.ts';
import { type ProxyHeader, ProxyHeaderParser } from './proxy-header.ts';

/**
 * PROXY protocol (v1 and v2) in front of a listener: for a peer in the trusted CIDRs the header is read on the
 * raw socket before HTTP or TLS sees a byte, and the address it carries becomes the socket's remoteAddress, so
 * X-Forwarded-For, the access log, source affinity and route access all see the client. Peers outside the
 * trusted CIDRs are served as direct clients: a header they send is never believed (it reaches HTTP as a bad
 * request line, or TLS as a bad record).
 */

/**
 * off: no header is read. strict: a trusted peer must send one, or is closed. optional: a trusted peer may send
 * one; without it the peer's own address is used. optional is unsafe unless every trusted source sends the
 * header, since a trusted source that forwards raw client bytes lets that client forge its address.
 */
export type ProxyProtocolMode = 'off' | 'strict' | 'optional';

/** What happened to one connection's header (metric label `outcome`). */
export type ProxyOutcome =
  | 'v1'
  | 'v2'
  | 'local'
  | 'absent'
  | 'untrusted'
  | 'missing'
  | 'malformed'
  | 'oversize'
  | 'timeout';

/** How one listener reads the header. */
export interface ProxyProtocolPolicy {
  readonly mode: Exclude<ProxyProtocolMode, 'off'>;
  readonly trusted: CidrSet;
  /** Whole header within this, or the connection is closed (a slow sender holds nothing longer). */
  readonly timeoutMs: number;
}

/** Open connections still in the header phase; close() destroys them (shutdown). */
export interface ProxyProtocolFront {
  readonly pending: number;
  close(): void;
}

type ConnectionListener = (this: Server, socket: Socket) => void;

/**
 * Puts the header reader in front of `server`'s own 'connection' handling (node's HTTP parser or TLS wrap),
 * which receives the socket once the header is read, with any bytes after it unshifted. `resume` restarts
 * a plain socket's flow for the HTTP parser; TLS reads the buffered bytes itself.
 */
export function installProxyProtocol(
  server: Server,
  policy: ProxyProtocolPolicy,
  observer: DataplaneObserver | undefined,
  resume: boolean,
): ProxyProtocolFront {
  const own = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  const pending = new Set<Socket>();
  const handOver = (socket: Socket) => {
    for (const listener of own) listener.call(server, socket);
  };
  server.on('connection', (socket: Socket) => {
    if (!policy.trusted.has(socket.remoteAddress)) {
      notifyProxyProtocol(observer, 'untrusted');
      handOver(socket);
      return;
    }
    readHeader(
      socket,
      policy,
      pending,
      (header, rest) => {
        notifyProxyProtocol(observer, outcomeOf(header));
        if (header !== undefined && !header.local) adoptAddress(socket, header);
        if (rest.length > 0) socket.unshift(rest);
        handOver(socket);
        if (resume) socket.resume();
      },
      (outcome) => notifyProxyProtocol(observer, outcome),
    );
  });
  return {
    get pending() {
      return pending.size;
    },
    close() {
      for (const s of pending) s.destroy();
      pending.clear();
    },
  };
}

function outcomeOf(header: ProxyHeader | undefined): ProxyOutcome {
  if (header === undefined) return 'absent';
  if (header.local) return 'local';
  return header.version === 1 ? 'v1' : 'v2';
}

/** Reads the header; `done` gets it (undefined: absent in optional mode) and the bytes after it. */
function readHeader(
  socket: Socket,
  policy: ProxyProtocolPolicy,
  pending: Set<Socket>,
  done: (header: ProxyHeader | undefined, rest: Buffer) => void,
  refused: (outcome: ProxyOutcome) => void,
): void {
  const parser = new ProxyHeaderParser();
  pending.add(socket);
  const finish = () => {
    clearTimeout(timer);
    pending.delete(socket);
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
  };
  const refuse = (outcome: ProxyOutcome) => {
    finish();
    refused(outcome);
    // The sender broke the protocol: nothing is answered, there is no protocol yet to answer in.
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    const step = parser.push(chunk);
    if (step.state === 'more') return;
    if (step.state === 'error') return refuse(step.error);
    if (step.state === 'absent' && policy.mode === 'strict') return refuse('missing');
    socket.pause();
    finish();
    if (step.state === 'absent') done(undefined, step.data);
    else done(step.header, step.rest);
  };
  const onError = () => finish();
  const onClose = () => finish();
  const timer = setTimeout(() => refuse('timeout'), policy.timeoutMs);
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
}

const ADDRESS = Symbol('proxy-protocol-address');
type Proxied = Socket & { [ADDRESS]?: ProxyHeader };

/** Makes the socket report the carried client as its peer (own properties shadow net.Socket's getters). */
function adoptAddress(socket: Proxied, header: ProxyHeader): void {
  socket[ADDRESS] = header;
  define(socket, header);
}

function define(socket: Socket, header: ProxyHeader): void {
  Object.defineProperty(socket, 'remoteAddress', { value: header.sourceAddress, configurable: true });
  Object.defineProperty(socket, 'remotePort', { value: header.sourcePort, configurable: true });
  Object.defineProperty(socket, 'remoteFamily', { value: header.family, configurable: true });
}

/**
 * The TLS socket node wraps around a raw socket reports the raw socket's kernel peer, not ours: copy the
 * carried address onto it (node keeps the raw socket as `_parent`).
 */
export function adoptTlsAddress(tls: TLSSocket): void {
  const parent = (tls as TLSSocket & { _parent?: Proxied })._parent;
  const header = parent?.[ADDRESS];
  if (header !== undefined) define(tls, header);
}
