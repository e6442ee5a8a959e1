/**
 * The architecture's floor, not a product (issue 13): node:http in front, the product's own upstream client
 * (one H1Pool per backend, src/dataplane/upstream/h1-pool.ts) behind; round-robin, X-Forwarded-For, hop-by-hop
 * stripping, and the response as `res.writeHead(status, flatArray)` + `res.end(body)` when the body came with
 * the head. Nothing else: no routing, affinity, metrics or log. Usage: node bench/lib/node-raw.ts PORT BACKEND...
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { H1Pool } from '../../src/dataplane/upstream/h1-pool.ts';

// RFC 9110 §7.6.1: connection-specific request fields; X-Forwarded-For is ours to set. Transfer-Encoding is
// re-framed by the client (chunked when no Content-Length).
const REQUEST_SKIP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'x-forwarded-for',
]);
const RESPONSE_SKIP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'trailer', 'upgrade']);

/** One proxied request as the upstream client's dispatch handler. */
class RawExchange implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #headers: string[] = [];
  /** The first body chunk, held until the next one or the end, so a small response goes out in one write. */
  #first: Buffer | undefined;
  #started = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[]>,
  ): void {
    this.#controller = controller;
    this.#status = status;
    const out = this.#headers;
    for (const name in headers) {
      if (RESPONSE_SKIP.has(name)) continue;
      const v = headers[name] as string | string[];
      if (typeof v === 'string') out.push(name, v);
      else for (const one of v) out.push(name, one);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#started && this.#first === undefined) {
      this.#first = chunk;
      return;
    }
    this.#start();
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (this.#started) {
      this.#res.end();
      return;
    }
    this.#started = true;
    this.#res.writeHead(this.#status, this.#headers);
    this.#res.end(this.#first);
  }

  onResponseError(_controller: unknown, _err: Error): void {
    if (!this.#res.headersSent) this.#res.writeHead(502, ['content-length', '0']).end();
    else this.#res.destroy();
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#res.writeHead(this.#status, this.#headers);
    if (this.#first !== undefined) this.#res.write(this.#first);
    this.#first = undefined;
  }

  /** The client went away before the response ended: stop the upstream request. */
  abort(): void {
    this.#controller?.abort(new Error('client closed'));
  }
}

const kExchange = Symbol('exchange');
type Tagged = ServerResponse & { [kExchange]?: RawExchange };

// One module function for every response (no closure per request).
function onClose(this: Tagged): void {
  if (!this.writableFinished) this[kExchange]?.abort();
}

function handle(pool: H1Pool, req: IncomingMessage, res: ServerResponse): void {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  let xff = '';
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name === 'x-forwarded-for') xff = xff === '' ? value : `${xff}, ${value}`;
    else if (!REQUEST_SKIP.has(name)) headers.push(name, value);
  }
  const peer = req.socket.remoteAddress ?? '';
  headers.push('x-forwarded-for', xff === '' ? peer : `${xff}, ${peer}`);
  const bodiless =
    req.headers['transfer-encoding'] === undefined &&
    (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
  const ex = new RawExchange(res);
  (res as Tagged)[kExchange] = ex;
  res.on('close', onClose);
  try {
    pool.dispatch(
      {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers,
        body: bodiless ? null : req,
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
        idempotent: req.method === 'GET' || req.method === 'HEAD',
      },
      ex,
    );
  } catch {
    res.writeHead(502, ['content-length', '0']).end();
  }
}

/** A started floor proxy; close() stops listening and closes the upstream pools. */
export interface NodeRaw {
  readonly server: Server;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 = any) and round-robins over the upstream ports `backends`. */
export async function startNodeRaw(port: number, backends: readonly number[]): Promise<NodeRaw> {
  const options = { connectTimeout: 5_000, keepAliveTimeout: 4_000, connections: 512 };
  const pools = backends.map((p) => new H1Pool('127.0.0.1', p, options));
  let next = 0;
  const server = createServer((req, res) => handle(pools[next++ % pools.length] as H1Pool, req, res));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    server,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([closed, ...pools.map((p) => p.destroy())]);
    },
  };
}

if (import.meta.main) {
  const [port, ...backends] = process.argv.slice(2).map(Number);
  await startNodeRaw(port as number, backends);
  process.on('SIGTERM', () => process.exit(0));
}
