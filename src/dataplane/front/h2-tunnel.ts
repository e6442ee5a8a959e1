import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { constants, type Http2ServerRequest, type ServerHttp2Stream } from 'node:http2';
import { Duplex } from 'node:stream';
import { H2TunnelHeadError } from '../../shared/errors.ts';

/**
 * WebSockets over HTTP/2 (RFC 8441 extended CONNECT) on the WebSocket path we already have: the CONNECT stream
 * is presented to the Upgrade handler as an HTTP/1.1 `GET` + `Upgrade: websocket` request and a socket, so
 * decide(), the tunnel cap, limits, endpoint pick and retry are the ones every WebSocket takes. The handler
 * writes HTTP/1.1 heads on that socket; this adapter turns the first one into the h2 response (`101` becomes
 * `200`, RFC 8441 5) and relays the bytes after it as the stream's DATA.
 */

/** Fields of a relayed HTTP/1.1 head that are connection-specific or belong to the 101 handshake only. */
const DROP = new Set([
  'connection',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'http2-settings',
  'te',
  // The backend's answer to the key we made up (RFC 8441 5: no key or accept on the h2 side).
  'sec-websocket-accept',
]);

/** Largest HTTP/1.1 head accepted from the handler (upstream heads are bounded by node's parser already). */
const MAX_HEAD = 64 * 1024;

/**
 * The request the Upgrade path sees for an extended CONNECT: GET, the stream's :path, its fields plus Host
 * (:authority), `Upgrade: websocket` and a fresh Sec-WebSocket-Key for the backend's HTTP/1.1 handshake.
 */
export function upgradeRequestOf(req: Http2ServerRequest): IncomingMessage {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.charCodeAt(0) !== 58 /* : */) headers[name] = value;
  }
  const authority = req.headers[':authority'];
  if (authority !== undefined && headers.host === undefined) headers.host = authority;
  headers.upgrade = 'websocket';
  headers['sec-websocket-key'] = randomBytes(16).toString('base64');
  const facts = {
    method: 'GET',
    url: req.headers[':path'] ?? '/',
    headers,
    // The session's TLS socket (through node's proxy): address, TLS version, SNI, as on HTTP/1.1.
    socket: req.socket,
    httpVersionMajor: 2,
    stream: req.stream,
    readableDidRead: false,
    destroyed: false,
  };
  return facts as unknown as IncomingMessage;
}

/** The CONNECT stream as the socket a WebSocket tunnel relays on (net.Socket's members the tunnel uses). */
export class H2TunnelSocket extends Duplex {
  bytesRead = 0;
  bytesWritten = 0;
  #stream: ServerHttp2Stream;
  #head: Buffer | undefined = Buffer.alloc(0);

  constructor(stream: ServerHttp2Stream) {
    super({ allowHalfOpen: true });
    this.#stream = stream;
    stream.on('data', (chunk: Buffer) => {
      this.bytesRead += chunk.length;
      if (!this.push(chunk)) stream.pause();
    });
    stream.on('end', () => this.push(null));
    stream.on('error', () => {});
    stream.once('close', () => this.destroy());
  }

  override _read(): void {
    this.#stream.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.bytesWritten += chunk.length;
    const stream = this.#stream;
    if (this.#head === undefined) {
      stream.write(chunk, done);
      return;
    }
    const head = Buffer.concat([this.#head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) {
      this.#head = head;
      done(head.length > MAX_HEAD ? new H2TunnelHeadError('response head too large') : null);
      return;
    }
    this.#head = undefined;
    if (!respond(stream, head.subarray(0, end).toString('latin1'))) {
      done(new H2TunnelHeadError('malformed response head'));
      return;
    }
    const rest = head.subarray(end + 4);
    if (rest.length > 0) stream.write(rest, done);
    else done();
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.#stream.destroyed) this.#stream.end();
    done();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    const stream = this.#stream;
    if (!stream.destroyed) stream.close(err ? constants.NGHTTP2_INTERNAL_ERROR : constants.NGHTTP2_CANCEL);
    done(err);
  }

  /** net.Socket's: nothing to do, the session's socket has its own setting. */
  setNoDelay(): this {
    return this;
  }

  /** net.Socket's inactivity timer, on the stream: 'timeout' is emitted here. */
  setTimeout(ms: number, cb?: () => void): this {
    if (cb !== undefined) this.once('timeout', cb);
    this.#stream.setTimeout(ms, () => this.emit('timeout'));
    return this;
  }

  /** net.Socket's: end, and destroy once what was written is flushed. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }
}

/** Sends the h2 response for an HTTP/1.1 head (`HTTP/1.1 101 ...` becomes 200); false when unreadable. */
function respond(stream: ServerHttp2Stream, head: string): boolean {
  const lines = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
  if (!Number.isInteger(status) || stream.headersSent || stream.destroyed) return false;
  const headers: Record<string, string | string[]> = { ':status': String(status === 101 ? 200 : status) };
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (DROP.has(name)) continue;
    const value = line.slice(colon + 1).trim();
    const prior = headers[name];
    if (prior === undefined) headers[name] = value;
    else headers[name] = Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  try {
    stream.respond(headers);
    return true;
  } catch {
    return false;
  }
}
