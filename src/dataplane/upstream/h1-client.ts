import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ChunkedScanner, H1Error, parseResponseHead, type ResponseHead } from './h1-parser.ts';
import type { H1Request } from './h1-request.ts';

/**
 * One upstream HTTP/1.1 keep-alive connection of an H1Pool (h1-pool.ts): one request at a time (no
 * pipelining), the request head written as one latin1 string, the response framed per RFC 9112 §6.3 by
 * h1-parser.ts. It drives the same handler interface as undici's dispatch (onRequestStart, onResponseStart,
 * onResponseData, onResponseEnd, onResponseError), so the exchange and its one retry do not care which runs.
 */

/** A request whose reused connection closed under it, for the pool to send again on a fresh one. */
export interface Replay {
  readonly req: H1Request;
  readonly built: { head: string; chunked: boolean };
  readonly handler: Dispatcher.DispatchHandler;
}

/** The pool side a connection reports to. */
export interface ConnectionOwner {
  /** The response was fully read and the connection is clean: hand it the next request or park it. */
  release(c: H1Connection, keepAliveHintMs: number): void;
  /** The connection is gone; `replay`: its request is to be sent again on a fresh connection. */
  remove(c: H1Connection, replay?: Replay): void;
}

const MAX_HEAD = 16 * 1024;
/** One keep-alive connection; created by the pool, which owns its lifecycle. */
export class H1Connection implements Dispatcher.DispatchController {
  readonly #owner: ConnectionOwner;
  readonly #socket: Socket;
  readonly #authority: string;
  #connected = false;
  #connectTimer: NodeJS.Timeout | undefined;
  #handler: Dispatcher.DispatchHandler | undefined;
  #req: H1Request | undefined;
  #built: { head: string; chunked: boolean } = { head: '', chunked: false };
  #head: ResponseHead | undefined;
  #pending: Buffer | undefined;
  #remaining = 0;
  #scanner = new ChunkedScanner();
  #body: Readable | undefined;
  #chunked = false;
  #bodyDone = true;
  #paused = false;
  #aborted = false;
  #dead = false;
  #readMs = 0;
  /** The socket's inactivity timeout now (socket.setTimeout), so an unchanged one is not set again. */
  #armedMs = 0;
  /** performance.now() after which an idle connection is closed by its pool (idle()). */
  idleUntil = 0;
  /** Requests started on this connection: above 1, it is a reused keep-alive connection. */
  #requests = 0;
  /** A byte of the current request's response (1xx included) arrived. */
  #answered = false;
  /**
   * True while the chunk being delivered is the last of a Content-Length body: the handler may keep it for
   * its onResponseEnd, which follows in the same call (exchange.ts sends head and body in one res.end()).
   */
  ending = false;
  /** The current request's body stream gave us a byte or its end: it cannot be sent again. */
  #bodyRead = false;
  #onChunk = (buf: Buffer, from: number, to: number) => this.#deliver(buf.subarray(from, to));
  #onBodyData = (c: Buffer) => this.#bodyData(c);
  #onBodyEnd = () => this.#bodyEnd();
  #onBodyError = () => this.#fail(new H1Error('H1_ERR_ABORTED', 'request body aborted'));
  #onDrain = () => this.#body?.resume();

  constructor(owner: ConnectionOwner, host: string, port: number, connectMs: number) {
    this.#owner = owner;
    this.#authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.#socket = connect({ host, port, noDelay: true });
    this.#socket.setKeepAlive(true, 60_000);
    this.#connectTimer = setTimeout(() => {
      this.#fail(new H1Error('H1_ERR_CONNECT_TIMEOUT', `connect timeout after ${connectMs} ms`));
    }, connectMs);
    this.#socket.once('connect', () => this.#onConnect());
    this.#socket.on('data', (c: Buffer) => this.#onData(c));
    this.#socket.on('end', () => this.#onEnd());
    this.#socket.on('error', (e) => this.#fail(e, true));
    this.#socket.on('close', () =>
      this.#fail(new H1Error('H1_ERR_CLOSED', 'upstream closed the connection'), true),
    );
    this.#socket.on('timeout', () => this.#onTimeout());
  }

  /** The controller state undici's handlers read. */
  get paused(): boolean {
    return this.#paused;
  }
  get aborted(): boolean {
    return this.#aborted;
  }
  get reason(): Error | null {
    return null;
  }

  /** The `host:port` a request without Host names (as undici does). */
  get authority(): string {
    return this.#authority;
  }

  /**
   * Starts `req` (its head already built by requestHead) on this connection, idle or still connecting: then
   * it is sent once connected.
   */
  send(req: H1Request, built: { head: string; chunked: boolean }, handler: Dispatcher.DispatchHandler): void {
    this.#req = req;
    this.#built = built;
    this.#handler = handler;
    this.#aborted = false;
    this.#paused = false;
    this.#requests++;
    this.#answered = false;
    this.#bodyRead = false;
    this.#readMs = req.headersTimeout ?? req.bodyTimeout ?? 0;
    if (this.#connected) this.#start();
  }

  /**
   * Parks an idle connection until `now + idleMs`; its pool closes it then (one timer per pool, not a
   * socket timer set and cleared per request). The read timeout stays armed: it may close it earlier.
   */
  idle(now: number, idleMs: number): void {
    this.idleUntil = now + idleMs;
  }

  // socket.setTimeout clears and re-creates a timer (and a bound callback) each time: only on a change.
  #arm(ms: number): void {
    if (ms === this.#armedMs) return;
    this.#armedMs = ms;
    this.#socket.setTimeout(ms);
  }

  /** Closes the connection; an in-flight handler gets onResponseError. */
  destroy(): void {
    this.#fail(new H1Error('H1_ERR_POOL_CLOSED', 'pool closed'));
  }

  /** Whether a request is in flight. */
  get busy(): boolean {
    return this.#handler !== undefined;
  }

  /**
   * Whether an idle connection can carry a request: not failed, and the upstream has not ended its side
   * (a FIN already read; RFC 9112 §9.6: a server that closes sends no more responses on it).
   */
  get reusable(): boolean {
    return !this.#dead && this.#socket.readyState === 'open' && !this.#socket.readableEnded;
  }

  pause(): void {
    if (this.#handler === undefined || this.#paused) return;
    this.#paused = true;
    this.#socket.pause();
    // Waiting for our client is not the upstream's slowness: no read timeout while paused (as undici).
    this.#arm(0);
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#socket.resume();
    if (this.#handler !== undefined) this.#arm(this.#readMs);
  }

  abort(reason: Error): void {
    if (this.#handler === undefined || this.#aborted) return;
    this.#aborted = true;
    this.#fail(reason);
  }

  #onConnect(): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#connected = true;
    if (this.#handler !== undefined) this.#start();
  }

  #start(): void {
    const req = this.#req as H1Request;
    const handler = this.#handler as Dispatcher.DispatchHandler;
    const built = this.#built;
    handler.onRequestStart?.(this, {});
    if (this.#aborted || this.#dead) return;
    // Unchanged since the last request on this connection: the write below refreshes the running timer.
    this.#arm(this.#readMs);
    this.#socket.write(built.head, 'latin1');
    const body = req.body;
    if (body === null) return;
    this.#body = body;
    this.#chunked = built.chunked;
    this.#bodyDone = false;
    body.on('data', this.#onBodyData);
    body.on('end', this.#onBodyEnd);
    body.on('error', this.#onBodyError);
    body.on('aborted', this.#onBodyError);
    this.#socket.on('drain', this.#onDrain);
    body.resume();
  }

  #bodyData(c: Buffer): void {
    if (c.length === 0) return;
    this.#bodyRead = true;
    const s = this.#socket;
    const ok = this.#chunked
      ? s.write(`${c.length.toString(16)}\r\n`) && s.write(c) && s.write('\r\n')
      : s.write(c);
    this.#handler?.onBodySent?.(c as never);
    if (!ok) this.#body?.pause();
  }

  #bodyEnd(): void {
    this.#bodyRead = true;
    if (this.#chunked) this.#socket.write('0\r\n\r\n');
    this.#bodyDone = true;
    this.#unhookBody();
  }

  /** Detaches the request body; `keep`: it is to be sent again, so it stops flowing (no byte is lost). */
  #unhookBody(keep = false): void {
    const body = this.#body;
    if (body === undefined) return;
    this.#body = undefined;
    if (keep) body.pause();
    body.off('data', this.#onBodyData);
    body.off('end', this.#onBodyEnd);
    body.off('error', this.#onBodyError);
    body.off('aborted', this.#onBodyError);
    this.#socket.off('drain', this.#onDrain);
  }

  #onData(chunk: Buffer): void {
    if (this.#handler === undefined) {
      // Bytes nobody asked for (no pipelining): the connection's framing is lost (RFC 9112 §9.3).
      this.#fail(new H1Error('H1_ERR_TRAILING_BYTES', 'unsolicited bytes from the upstream'));
      return;
    }
    this.#answered = true;
    let buf = chunk;
    let off = 0;
    try {
      while (off < buf.length) {
        if (this.#handler === undefined) {
          // A complete response followed by more bytes: never reuse, never relay them.
          throw new H1Error('H1_ERR_TRAILING_BYTES', 'bytes after a complete response');
        }
        if (this.#head === undefined) {
          const rest = this.#parseHead(buf, off);
          if (rest === undefined) return;
          buf = rest.buf;
          off = rest.off;
          continue;
        }
        off = this.#bodyBytes(buf, off);
      }
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    this.#maybeRelease();
  }

  /** Accumulates until CRLFCRLF; returns where the body starts, or undefined while incomplete. */
  #parseHead(chunk: Buffer, off: number): { buf: Buffer; off: number } | undefined {
    const part = off === 0 ? chunk : chunk.subarray(off);
    const buf = this.#pending === undefined ? part : Buffer.concat([this.#pending, part]);
    const end = buf.indexOf('\r\n\r\n', 0, 'latin1');
    if (end < 0 || end > MAX_HEAD) {
      if (buf.length > MAX_HEAD) throw new H1Error('H1_ERR_HEAD_TOO_LARGE', 'response head too large');
      if (buf.includes('\n\n')) throw new H1Error('H1_ERR_BARE_LF', 'bare LF in the response head');
      this.#pending = buf;
      return undefined;
    }
    this.#pending = undefined;
    const head = parseResponseHead(buf.toString('latin1', 0, end), (this.#req as H1Request).method);
    if (head.status < 200) {
      // 1xx interim responses (100 Continue, 103 Early Hints) are consumed here (RFC 9110 §15.2); 101 cannot
      // be a legitimate answer: Upgrade is stripped from requests on this path.
      if (head.status === 101) throw new H1Error('H1_ERR_UNEXPECTED_101', 'unexpected 101');
      return { buf, off: end + 4 };
    }
    this.#head = head;
    if (head.framing === 'length') this.#remaining = head.contentLength;
    else if (head.framing === 'chunked') this.#scanner.reset();
    const handler = this.#handler as Dispatcher.DispatchHandler;
    handler.onResponseStart?.(this, head.status, head.headers, head.reason);
    if (head.framing === 'none') this.#complete();
    return { buf, off: end + 4 };
  }

  /** Feeds body bytes to the handler; returns the offset after what belonged to this response. */
  #bodyBytes(buf: Buffer, off: number): number {
    const head = this.#head as ResponseHead;
    if (head.framing === 'length') {
      const take = Math.min(this.#remaining, buf.length - off);
      this.#remaining -= take;
      this.ending = this.#remaining === 0;
      this.#deliver(off === 0 && take === buf.length ? buf : buf.subarray(off, off + take));
      this.ending = false;
      if (this.#remaining === 0) this.#complete();
      return off + take;
    }
    if (head.framing === 'chunked') {
      const end = this.#scanner.scan(buf, off, this.#onChunk);
      if (this.#scanner.done) this.#complete();
      return end;
    }
    this.#deliver(off === 0 ? buf : buf.subarray(off));
    return buf.length;
  }

  #deliver(chunk: Buffer): void {
    if (chunk.length === 0 || this.#aborted) return;
    this.#handler?.onResponseData?.(this, chunk);
  }

  /** The response was read to its end: tell the handler; reuse is decided by #maybeRelease. */
  #complete(): void {
    const handler = this.#handler;
    if (handler === undefined || this.#aborted) return;
    this.#handler = undefined;
    this.#req = undefined;
    if (!this.#bodyDone) {
      // The upstream answered before reading the whole request body: the rest is unsent, so this connection
      // cannot carry another request (its framing would be lost).
      (this.#head as ResponseHead).keepAlive = false;
      this.#unhookBody();
    }
    handler.onResponseEnd?.(this, {});
  }

  #maybeRelease(): void {
    const head = this.#head;
    if (head === undefined || this.#handler !== undefined) return;
    this.#head = undefined;
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
    if (head.keepAlive && !this.#dead) this.#owner.release(this, head.keepAliveHintMs);
    else this.#fail(new H1Error('H1_ERR_CLOSED', 'connection not reusable'));
  }

  #onEnd(): void {
    // Read-until-close bodies end here; anything else in flight was cut short.
    const head = this.#head;
    if (this.#handler !== undefined && head?.framing === 'close') {
      head.keepAlive = false;
      this.#complete();
    }
    this.#fail(new H1Error('H1_ERR_CLOSED', 'upstream closed the connection'), true);
  }

  #onTimeout(): void {
    if (this.#handler === undefined) this.#fail(new H1Error('H1_ERR_CLOSED', 'idle keep-alive timeout'));
    else this.#fail(new H1Error('H1_ERR_READ_TIMEOUT', `no upstream bytes for ${this.#readMs} ms`));
  }

  /** `closed`: the upstream closed or reset the connection (not a timeout, an abort or a protocol error). */
  #fail(err: Error, closed = false): void {
    if (this.#dead) return;
    this.#dead = true;
    clearTimeout(this.#connectTimer);
    const handler = this.#handler;
    const req = this.#req;
    const replay = closed && handler !== undefined && req !== undefined && this.#replayable(req);
    this.#handler = undefined;
    this.#req = undefined;
    this.#head = undefined;
    this.#pending = undefined;
    this.#unhookBody(replay);
    this.#socket.destroy();
    if (replay) {
      this.#owner.remove(this, { req, built: this.#built, handler });
      return;
    }
    this.#owner.remove(this);
    handler?.onResponseError?.(this, err);
  }

  /**
   * A request that met a stale keep-alive connection (the upstream closed it as the request arrived, RFC 9112
   * §9.3.1) goes once more on a fresh connection: only on a reused connection (a fresh one is never retried,
   * so it happens once), before any response byte, for an idempotent request whose body (if any) was not read.
   * It is not the endpoint's failure: no proxy-next-upstream try is spent, no endpoint changes.
   */
  #replayable(req: H1Request): boolean {
    if (this.#requests < 2 || this.#answered || this.#aborted || req.idempotent !== true) return false;
    const body = req.body;
    return body === null || (!this.#bodyRead && body.readable);
  }
}
