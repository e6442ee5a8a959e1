/**
 * Prototype (bench only, issue 7): a minimal HTTP/1.1 keep-alive client on net.Socket, to measure what undici
 * costs on the plain-HTTP proxy path. One request per connection at a time (no pipelining), the request head
 * written as one string, the response head parsed in JS, the body framed per RFC 9112 §6.3.
 */
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ChunkedScanner, parseResponseHead, RawParseError, type ResponseHead } from './raw-parser.ts';

/** One proxied request as the client sees it; the proxy's per-request object implements it (no closures). */
export interface RawHandler {
  readonly method: string;
  /** Request line + header fields + the empty line, latin1. */
  readonly head: string;
  /** Request body to stream after the head, or null; `bodyChunked` re-frames it with chunked coding. */
  readonly body: Readable | null;
  readonly bodyChunked: boolean;
  /** Pass chunked bodies through with their framing (the client side speaks HTTP/1.1 and keeps TE). */
  readonly rawChunked: boolean;
  /** `raw` is the upstream's head bytes (status line to the empty line), valid until onEnd. */
  onHead(head: ResponseHead, conn: RawConnection, raw: Buffer): void;
  /** Body bytes; returning false pauses the upstream socket until `conn.resume()`. */
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  onError(err: Error): void;
}

const MAX_HEAD = 16 * 1024;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** One upstream keep-alive connection; owned by its RawPool. */
export class RawConnection {
  #pool: RawPool;
  #socket: Socket;
  #handler: RawHandler | undefined;
  #head: ResponseHead | undefined;
  #pending: Buffer | undefined;
  #remaining = 0;
  #scanner = new ChunkedScanner();
  #requests = 0;
  #gotBytes = false;
  #bodyDone = true;
  #paused = false;
  #dead = false;
  /** Set by #finish: 1 = release to the pool, 2 = close, once the current chunk is fully handled. */
  #after = 0;
  #onChunk: (buf: Buffer, from: number, to: number) => void;

  constructor(pool: RawPool, host: string, port: number) {
    this.#pool = pool;
    this.#socket = connect({ host, port, noDelay: true });
    this.#socket.on('data', (c: Buffer) => this.#onData(c));
    this.#socket.on('end', () => this.#onEnd());
    this.#socket.on('error', (e) => this.#fail(e));
    this.#socket.on('close', () =>
      this.#fail(new RawParseError('RAW_CLOSED', 'upstream closed the connection')),
    );
    this.#onChunk = (buf, from, to) => {
      if (this.#handler?.onData(buf.subarray(from, to)) === false) this.#paused = true;
    };
  }

  /** Starts `h` on this (idle) connection. */
  send(h: RawHandler): void {
    this.#handler = h;
    this.#gotBytes = false;
    this.#requests++;
    if (h.body === null) {
      this.#socket.write(h.head, 'latin1');
      return;
    }
    this.#bodyDone = false;
    new BodyPump(this, this.#socket, h.body, h.bodyChunked, h.head);
  }

  /** The request body was written completely. */
  bodyDone(): void {
    this.#bodyDone = true;
  }

  /** Resumes reading after onData returned false (the client's socket drained). */
  resume(): void {
    this.#paused = false;
    this.#socket.resume();
  }

  /** Closes the connection; an in-flight handler gets onError. */
  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#handler === undefined) {
      this.#socket.destroy(); // bytes nobody asked for: the connection's framing is lost
      return;
    }
    this.#gotBytes = true;
    let buf = chunk;
    let off = 0;
    try {
      while (off < buf.length && this.#after === 0) {
        if (this.#head === undefined) {
          const rest = this.#parseHead(buf, off);
          if (rest === undefined) return;
          buf = rest.buf;
          off = rest.off;
          continue;
        }
        off = this.#body(buf, off);
      }
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    if (this.#after !== 0) {
      // Trailing bytes after a complete response (no pipelining here) mean the framing is lost.
      const reuse = this.#after === 1 && off === buf.length;
      this.#after = 0;
      if (reuse) this.#pool.release(this);
      else this.#socket.destroy();
    } else if (this.#paused) this.#socket.pause();
  }

  /** Accumulates until CRLFCRLF; returns where the body starts, or undefined while incomplete. */
  #parseHead(chunk: Buffer, off: number): { buf: Buffer; off: number } | undefined {
    const part = off === 0 ? chunk : chunk.subarray(off);
    const buf = this.#pending === undefined ? part : Buffer.concat([this.#pending, part]);
    const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
    if (end < 0 || end > MAX_HEAD) {
      if (buf.length > MAX_HEAD) throw new RawParseError('RAW_HEAD_TOO_LARGE', 'response head too large');
      this.#pending = buf;
      return undefined;
    }
    this.#pending = undefined;
    const h = this.#handler as RawHandler;
    const head = parseResponseHead(buf.toString('latin1', 0, end), h.method);
    if (head.status < 200) {
      // 1xx interim responses are dropped; 101 cannot happen (Upgrade is stripped from requests).
      if (head.status === 101) throw new RawParseError('RAW_UNEXPECTED_101', 'unexpected 101');
      return { buf, off: end + 4 };
    }
    this.#head = head;
    if (head.framing === 'length') this.#remaining = head.contentLength;
    else if (head.framing === 'chunked') this.#scanner.reset();
    h.onHead(head, this, buf.subarray(0, end + 4));
    if (head.framing === 'none') this.#finish();
    return { buf, off: end + 4 };
  }

  /** Feeds body bytes to the handler; returns the offset after what belonged to this response. */
  #body(buf: Buffer, off: number): number {
    const head = this.#head as ResponseHead;
    const h = this.#handler as RawHandler;
    if (head.framing === 'length') {
      const take = Math.min(this.#remaining, buf.length - off);
      const slice = off === 0 && take === buf.length ? buf : buf.subarray(off, off + take);
      this.#remaining -= take;
      if (!h.onData(slice)) this.#paused = true;
      if (this.#remaining === 0) this.#finish();
      return off + take;
    }
    if (head.framing === 'chunked') {
      const end = this.#scanner.scan(buf, off, h.rawChunked ? noop : this.#onChunk);
      if (h.rawChunked && !h.onData(buf.subarray(off, end))) this.#paused = true;
      if (this.#scanner.done) this.#finish();
      return end;
    }
    if (!h.onData(off === 0 ? buf : buf.subarray(off))) this.#paused = true;
    return buf.length;
  }

  #finish(): void {
    const h = this.#handler as RawHandler;
    const reusable = (this.#head as ResponseHead).keepAlive && this.#bodyDone;
    this.#handler = undefined;
    this.#head = undefined;
    this.#paused = false;
    this.#after = reusable ? 1 : 2;
    h.onEnd();
  }

  #onEnd(): void {
    // Read-until-close bodies end here; anything else in flight was cut short.
    if (this.#handler !== undefined && this.#head?.framing === 'close') {
      this.#head.keepAlive = false;
      this.#finish();
      this.#after = 0;
      this.#socket.destroy();
      return;
    }
    this.#fail(new RawParseError('RAW_CLOSED', 'upstream closed the connection'));
  }

  #fail(err: Error): void {
    if (this.#dead) return;
    this.#dead = true;
    const h = this.#handler;
    this.#handler = undefined;
    this.#head = undefined;
    this.#pending = undefined;
    this.#socket.destroy();
    this.#pool.remove(this);
    if (h === undefined) return;
    // A reused socket the server closed while we wrote to it: safe to replay only if the server cannot have
    // acted on it (nothing came back, and the request is idempotent without a body) — RFC 9112 §9.3.1.
    if (this.#requests > 1 && !this.#gotBytes && h.body === null && IDEMPOTENT.has(h.method)) {
      this.#pool.dispatch(h, true);
      return;
    }
    h.onError(err);
  }
}

/** Streams a request body after its head, re-chunking a body the front side decoded; honours backpressure. */
class BodyPump {
  #conn: RawConnection;
  #socket: Socket;
  #body: Readable;
  #chunked: boolean;

  constructor(conn: RawConnection, socket: Socket, body: Readable, chunked: boolean, head: string) {
    this.#conn = conn;
    this.#socket = socket;
    this.#body = body;
    this.#chunked = chunked;
    socket.write(head, 'latin1');
    body.on('data', (c: Buffer) => this.#data(c));
    body.on('end', () => this.#end());
    socket.on('drain', () => body.resume());
  }

  #data(c: Buffer): void {
    const ok = this.#chunked
      ? this.#socket.write(`${c.length.toString(16)}\r\n`) &&
        this.#socket.write(c) &&
        this.#socket.write('\r\n')
      : this.#socket.write(c);
    if (!ok) this.#body.pause();
  }

  #end(): void {
    if (this.#chunked) this.#socket.write('0\r\n\r\n');
    this.#socket.removeAllListeners('drain');
    this.#conn.bodyDone();
  }
}

function noop(): void {}

/** Keep-alive connections to one upstream endpoint: LIFO idle list, FIFO wait queue, at most `max` sockets. */
export class RawPool {
  #host: string;
  #port: number;
  #max: number;
  #size = 0;
  #idle: RawConnection[] = [];
  #queue: RawHandler[] = [];
  #closed = false;

  constructor(host: string, port: number, max = 128) {
    this.#host = host;
    this.#port = port;
    this.#max = max;
  }

  /** Sends `h` on an idle connection, a new one, or queues it; `fresh` forces a new connection (retries). */
  dispatch(h: RawHandler, fresh = false): void {
    if (this.#closed) {
      h.onError(new RawParseError('RAW_POOL_CLOSED', 'pool closed'));
      return;
    }
    const idle = fresh ? undefined : this.#idle.pop();
    if (idle !== undefined) idle.send(h);
    else if (this.#size < this.#max || fresh) {
      this.#size++;
      new RawConnection(this, this.#host, this.#port).send(h);
    } else this.#queue.push(h);
  }

  /** A connection finished a response and can take the next request. */
  release(c: RawConnection): void {
    if (this.#closed) {
      c.destroy();
      return;
    }
    const next = this.#queue.shift();
    if (next !== undefined) c.send(next);
    else this.#idle.push(c);
  }

  /** A connection is gone (closed, failed): forget it; a queued request gets a new connection. */
  remove(c: RawConnection): void {
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#size--;
    const next = this.#closed ? undefined : this.#queue.shift();
    if (next !== undefined) this.dispatch(next);
  }

  /** Closes every idle connection; in-flight ones finish and are then closed. */
  close(): void {
    this.#closed = true;
    for (const c of this.#idle.splice(0)) c.destroy();
  }
}
