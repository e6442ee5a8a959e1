import { connect, type Server, type Socket } from 'node:net';
import { ConnectTimeoutError } from '../../shared/errors.ts';
import type { VirtualHost } from '../../snapshot/index.ts';
import {
  type DataplaneObserver,
  notifyPassthrough,
  notifyRejected,
  notifyRelayClose,
  RequestRecord,
} from '../observe/observer.ts';
import { normalizeHost } from '../routing/router.ts';
import type { BackendState } from '../upstream/backend-state.ts';
import type { Member } from '../upstream/balancers.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { hash32, MaglevBalancer } from '../upstream/maglev.ts';
import { unmapIPv4 } from './cidr.ts';
import { ClientHelloReader } from './client-hello.ts';
import { proxyHeaderFor } from './proxy-header-out.ts';

/**
 * SSL passthrough on the HTTPS listener: the ClientHello's SNI is read on the raw socket and, for a passthrough
 * host, the raw TLS bytes are relayed to the host's backend, which terminates TLS itself (its certificate reaches
 * the client). Every other connection (no SNI, unknown SNI, a malformed hello) goes to the terminating TLS
 * server with the bytes read so far put back, exactly as if nothing had looked. With no passthrough host in
 * the snapshot nothing is read at all: the socket goes to TLS at once.
 *
 * Affinity is by client address (HAProxy `stick on src`) through a consistent hash (Maglev) of the address
 * over the backend's endpoints: no table, so nothing to share between workers or replicas (each computes the
 * same endpoint) and nothing to expire; adding or removing one of N endpoints moves about 1/N of the sources.
 */

/** What passthrough outcome one connection had (metric label `outcome`). */
export type PassthroughOutcome = 'relayed' | 'terminated' | 'no_endpoint' | 'connect_failed' | 'timeout';

/** Passthrough hosts of one snapshot: SNI -> backend (exact name, then a one-label `*.` wildcard). */
export class PassthroughTable {
  #hosts = new Map<string, BackendState>();

  /**
   * From the snapshot's hosts with `passthrough` (any subset of the hosts holding every passthrough one will
   * do); `resolve` gives the live BackendState of a backend id.
   */
  constructor(
    snapshot: { readonly hosts: Iterable<VirtualHost> },
    resolve: (id: string) => BackendState | undefined,
  ) {
    for (const h of snapshot.hosts) {
      if (h.passthrough === undefined) continue;
      const b = resolve(h.passthrough.backend);
      if (b !== undefined) this.#hosts.set(h.hostname, b);
    }
  }

  get size(): number {
    return this.#hosts.size;
  }

  /** The backend for `sni`, or undefined: terminate TLS here. */
  find(sni: string): BackendState | undefined {
    const name = normalizeHost(sni);
    const exact = this.#hosts.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.#hosts.get(`*${name.slice(dot)}`) : undefined;
  }
}

/** What the passthrough front needs from the dataplane. */
export interface PassthroughContext {
  /** The current table, read once per connection. */
  table(): PassthroughTable;
  observer: DataplaneObserver | undefined;
  /** Time to receive the whole ClientHello (the TLS handshake limit). */
  timeoutMs: number;
  /** False when one more relay would exceed --max-tunnels (shared with WebSocket tunnels): close it. */
  admit(): boolean;
}

/** Open relays; close() ends them (shutdown). */
export interface PassthroughFront {
  readonly open: number;
  close(): void;
}

type ConnectionListener = (this: Server, socket: Socket) => void;

/** Puts the SNI peek in front of `server`'s own 'connection' handling (node's TLS wrap). */
export function installPassthrough(server: Server, ctx: PassthroughContext): PassthroughFront {
  const own = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  const relays = new Set<Socket>();
  const terminate = (socket: Socket) => {
    for (const listener of own) listener.call(server, socket);
  };
  const balancers = new WeakMap<BackendState, MaglevBalancer>();
  server.on('connection', (socket: Socket) => {
    const table = ctx.table();
    // No passthrough host: not one byte is read here, the terminating path is untouched.
    if (table.size === 0) return terminate(socket);
    peek(socket, ctx, (sni, head) => {
      const backend = sni === undefined ? undefined : table.find(sni);
      if (backend === undefined) {
        notifyPassthrough(ctx.observer, 'terminated');
        if (head.length > 0) socket.unshift(head);
        terminate(socket);
        return;
      }
      if (!ctx.admit()) {
        notifyRejected(ctx.observer, 'tunnels');
        socket.destroy();
        return;
      }
      let maglev = balancers.get(backend);
      if (maglev === undefined) {
        maglev = new MaglevBalancer();
        balancers.set(backend, maglev);
      }
      relays.add(socket);
      const record = relayRecord(socket, sni as string, backend);
      socket.once('close', () => {
        relays.delete(socket);
        record.bytesIn = socket.bytesRead;
        record.bytesOut = socket.bytesWritten;
        record.totalMs = performance.now() - record.startMono;
        notifyRelayClose(ctx.observer, record);
      });
      // Our PROXY header first: whatever the client sends, even a PROXY-looking line, follows it as data.
      const version = backend.config.proxyProtocol;
      const first =
        version === undefined ? head : Buffer.concat([proxyHeaderFor(version, socket, sni), head]);
      relay(socket, first, { backend, maglev, observer: ctx.observer, record }, undefined);
    });
  });
  return {
    get open() {
      return relays.size;
    },
    close() {
      for (const s of relays) s.destroy();
      relays.clear();
    },
  };
}

/** Reads until the hello's SNI is known (or it is not a hello); `done` gets the SNI and every byte read. */
function peek(
  socket: Socket,
  ctx: PassthroughContext,
  done: (sni: string | undefined, head: Buffer) => void,
) {
  const reader = new ClientHelloReader();
  const chunks: Buffer[] = [];
  const finish = () => {
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('error', finish);
    socket.removeListener('close', finish);
  };
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    const step = reader.push(chunk);
    if (step.state === 'more') return;
    socket.pause();
    finish();
    done(step.state === 'sni' ? step.name : undefined, Buffer.concat(chunks));
  };
  const timer = setTimeout(() => {
    finish();
    notifyPassthrough(ctx.observer, 'timeout');
    socket.destroy();
  }, ctx.timeoutMs);
  socket.on('data', onData);
  socket.on('error', finish);
  socket.on('close', finish);
  // The PROXY reader in front pauses the socket when it hands over: a 'data' listener alone does not restart
  // an explicitly paused stream, and the hello would never be read.
  socket.resume();
}

/**
 * The endpoint a passthrough connection from `clientAddress` goes to: Maglev over the client address among the
 * healthy endpoints, else (panic) among the ready ones. The relay and `explain` both call this.
 */
export function pickBySource(
  backend: BackendState,
  maglev: MaglevBalancer,
  clientAddress: string,
  exclude?: ReadonlySet<string>,
): Member | undefined {
  const key = hash32(unmapIPv4(clientAddress));
  return (
    maglev.pick(backend.members, false, exclude, key) ?? maglev.pick(backend.members, true, exclude, key)
  );
}

/** Relays the client's raw bytes to an endpoint picked by source hash; retries another on connect failure. */
/** One relay's fixed parts: where it goes, who hears about it, and its access-log record. */
interface RelayTarget {
  backend: BackendState;
  maglev: MaglevBalancer;
  observer: DataplaneObserver | undefined;
  record: RequestRecord;
}

/** The access-log record of one relay: the SNI stands for host and path, the client for the rest. */
function relayRecord(client: Socket, sni: string, backend: BackendState): RequestRecord {
  const r = new RequestRecord();
  r.clientAddress = client.remoteAddress ?? '';
  r.startTime = Date.now();
  r.startMono = performance.now();
  r.host = sni;
  r.sni = sni;
  r.tunnel = true;
  r.backendId = backend.config.id;
  r.sourceNamespace = backend.config.source.namespace;
  r.sourceName = backend.config.source.name;
  r.status = 503;
  return r;
}

function relay(client: Socket, head: Buffer, target: RelayTarget, exclude: Set<string> | undefined): void {
  const { backend, maglev, observer, record } = target;
  const m = pickBySource(backend, maglev, client.remoteAddress ?? '', exclude);
  if (m === undefined || client.destroyed) {
    notifyPassthrough(observer, 'no_endpoint');
    client.destroy();
    return;
  }
  const endpoint = m.state;
  record.endpointId = endpoint.id;
  record.status = 502;
  const timeouts = backend.config.timeouts;
  endpoint.acquire();
  const up = connect({ host: endpoint.address, port: endpoint.port });
  up.setTimeout(timeouts.connectMs, () => up.destroy(new ConnectTimeoutError('connect timeout')));
  let connected = false;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    endpoint.release();
  };
  up.once('connect', () => {
    connected = true;
    record.status = 200;
    record.connectMs = performance.now() - record.startMono;
    notifyPassthrough(observer, 'relayed');
    up.setTimeout(timeouts.tunnelIdleMs, () => up.destroy());
    client.setTimeout(timeouts.tunnelIdleMs, () => client.destroy());
    up.write(head);
    client.pipe(up);
    up.pipe(client);
    client.resume();
  });
  up.once('error', () => {
    if (connected) return;
    failed(endpoint, release);
    const tried = exclude ?? new Set<string>();
    tried.add(endpoint.id);
    if (tried.size <= backend.config.retries && !client.destroyed) {
      record.retries = tried.size;
      relay(client, head, target, tried);
      return;
    }
    notifyPassthrough(observer, 'connect_failed');
    client.destroy();
  });
  up.once('close', (hadError: boolean) => {
    release();
    // A clean close from the backend ends the client after what was piped; a reset resets it.
    if (connected) hadError ? client.destroy() : client.end();
  });
  client.on('error', () => up.destroy());
  client.once('close', () => up.destroy());
}

/** A connect failure counts toward passive health, as on the HTTP path. */
function failed(endpoint: EndpointState, release: () => void): void {
  endpoint.connectFailed();
  release();
}
