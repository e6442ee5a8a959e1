/**
 * Prototype (bench only, issue 7): node:http in front, bench/lib/raw-client.ts behind; round-robin over the
 * backends, X-Forwarded-For, hop-by-hop stripping. Same job as node-bare.ts with undici replaced.
 * Usage: node bench/lib/raw-proxy.ts PORT BACKEND... [--front res|socket]
 *   res (default): res.writeHead(status, reason, flat header list) + res.end(body) when the body came with the
 *     head: public API only.
 *   socket: the upstream's head and body bytes written unchanged to the client socket in ONE write when the
 *     head needs no rewriting, then node:http told the response is done through ServerResponse internals
 *     (_header/_headerSent). Measurement only: internals are not a product option.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type RawConnection, type RawHandler, RawPool } from './raw-client.ts';
import type { ResponseHead } from './raw-parser.ts';

// Request fields never forwarded (RFC 9110 §7.6.1); Transfer-Encoding is re-framed by the client.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade']);

/** One proxied request: builds the upstream head once, then relays the response to `res`. */
class Exchange implements RawHandler {
  readonly method: string;
  readonly head: string;
  readonly body: IncomingMessage | null;
  readonly bodyChunked: boolean;
  rawChunked = false;
  #res: ServerResponse;
  #socketMode: boolean;
  #raw: Buffer | undefined;
  #conn: RawConnection | undefined;
  #status = 0;
  #reason = '';
  #headers: string[] | undefined;
  #first: Buffer | undefined;
  #started = false;

  constructor(req: IncomingMessage, res: ServerResponse, socketMode: boolean) {
    this.method = req.method as string;
    this.#res = res;
    this.#socketMode = socketMode && req.httpVersion === '1.1';
    let head = `${this.method} ${req.url} HTTP/1.1\r\n`;
    let xff = '';
    let hasBody = false;
    let chunked = false;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const value = raw[i + 1] as string;
      const lower = name.length <= 17 ? name.toLowerCase() : '';
      if (lower === 'x-forwarded-for') xff = xff === '' ? value : `${xff}, ${value}`;
      else if (lower === 'content-length') {
        hasBody = value !== '0';
        head += `${name}: ${value}\r\n`;
      } else if (HOP.has(lower)) {
        if (lower === 'transfer-encoding') chunked = hasBody = true;
        else if (lower === 'connection' && value.toLowerCase() !== 'keep-alive') this.#socketMode = false;
        // Fields named by Connection are hop-by-hop as well; rare, left out of the prototype.
      } else head += `${name}: ${value}\r\n`;
    }
    const remote = req.socket.remoteAddress ?? '';
    head += `x-forwarded-for: ${xff === '' ? remote : `${xff}, ${remote}`}\r\n`;
    if (chunked) head += 'transfer-encoding: chunked\r\n';
    this.head = `${head}\r\n`;
    this.body = hasBody ? req : null;
    this.bodyChunked = chunked;
  }

  onHead(h: ResponseHead, conn: RawConnection, raw: Buffer): void {
    this.#conn = conn;
    if (this.#socketMode && h.verbatim && this.#res.socket !== null) {
      this.#raw = raw;
      this.rawChunked = h.framing === 'chunked';
      if (h.framing === 'chunked') this.#start();
      return;
    }
    this.#status = h.status;
    this.#reason = h.reason;
    this.#headers = h.headers;
    if (h.contentLength >= 0) h.headers.push('content-length', String(h.contentLength));
    if (h.framing === 'none' || h.framing === 'length') return; // wait: the body may fit in one end()
    this.#start();
  }

  onData(chunk: Buffer): boolean {
    if (!this.#started && this.#first === undefined) {
      this.#first = chunk;
      return true;
    }
    this.#start();
    if (this.#raw !== undefined) return this.#socketWrite(chunk);
    if (this.#res.write(chunk)) return true;
    // Backpressure: the upstream socket stays paused until the client drained (no listener per request).
    this.#res.once('drain', () => this.#conn?.resume());
    return false;
  }

  onEnd(): void {
    if (this.#raw !== undefined) {
      if (!this.#started) this.#socketWrite(joined(this.#raw, this.#first));
      // The response went out on the socket: let node:http run its end-of-response bookkeeping only.
      const internals = this.#res as unknown as { _header: string; _headerSent: boolean };
      internals._header = 'raw';
      internals._headerSent = true;
      this.#res.end();
      return;
    }
    if (this.#started) {
      this.#res.end();
      return;
    }
    this.#res.writeHead(this.#status, this.#reason, this.#headers);
    this.#res.end(this.#first);
  }

  onError(): void {
    // Bytes already relayed on the socket: node:http does not know, so only an abort is safe.
    if (this.#raw !== undefined && this.#started) this.#res.destroy();
    else if (!this.#res.headersSent) this.#res.writeHead(502, { 'content-length': '0' }).end();
    else this.#res.destroy();
  }

  #socketWrite(chunk: Buffer): boolean {
    const socket = this.#res.socket as NonNullable<ServerResponse['socket']>;
    if (socket.write(chunk)) return true;
    socket.once('drain', () => this.#conn?.resume());
    return false;
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#raw !== undefined) {
      this.#socketWrite(joined(this.#raw, this.#first));
      this.#first = undefined;
      return;
    }
    this.#res.writeHead(this.#status, this.#reason, this.#headers);
    if (this.#first !== undefined) this.#res.write(this.#first);
    this.#first = undefined;
  }
}

/** `head` then `body` as one buffer: the upstream's own bytes when they are adjacent in memory (no copy). */
function joined(head: Buffer, body: Buffer | undefined): Buffer {
  if (body === undefined) return head;
  if (body.buffer === head.buffer && body.byteOffset === head.byteOffset + head.length)
    return Buffer.from(head.buffer, head.byteOffset, head.length + body.length);
  return Buffer.concat([head, body]);
}

/** A started prototype proxy; close() stops listening and closes idle upstream connections. */
export interface RawProxy {
  server: Server;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 = any) and round-robins over the upstream `backends` ports. */
export async function startRawProxy(
  port: number,
  backends: readonly number[],
  front: 'res' | 'socket' = 'res',
): Promise<RawProxy> {
  const socketMode = front === 'socket';
  const pools = backends.map((p) => new RawPool('127.0.0.1', p, 128));
  let next = 0;
  const server = createServer((req, res) => {
    (pools[next++ % pools.length] as RawPool).dispatch(new Exchange(req, res, socketMode));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const p of pools) p.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--front');
  const front = at >= 0 ? argv.splice(at, 2)[1] : 'res';
  const [port, ...backends] = argv.map(Number);
  await startRawProxy(port as number, backends, front === 'socket' ? 'socket' : 'res');
  process.on('SIGTERM', () => process.exit(0));
}
