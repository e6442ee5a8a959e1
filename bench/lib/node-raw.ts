/**
 * The architecture's floor, not a product (issue 13): node:http in front, the product's own upstream client
 * (one H1Pool per backend, src/dataplane/upstream/h1-pool.ts) behind; round-robin, X-Forwarded-For, hop-by-hop
 * stripping, and the response as `res.writeHead(status, flatArray)` + `res.end(body)` when the body came with
 * the head. Nothing else: no routing, affinity, metrics or log. With `--tls PORT CERT KEY` the same handler also
 * serves HTTPS (node:https). Usage: node bench/lib/node-raw.ts PORT BACKEND... [--tls PORT CERT KEY]
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
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
  // rawHeaders only: req.headers would build an object per request.
  let bodiless = true;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (name === 'x-forwarded-for') xff = xff === '' ? value : `${xff}, ${value}`;
    else if (name === 'transfer-encoding') bodiless = false;
    else if (!REQUEST_SKIP.has(name)) {
      if (name === 'content-length' && value !== '0') bodiless = false;
      headers.push(name, value);
    }
  }
  const peer = req.socket.remoteAddress ?? '';
  headers.push('x-forwarded-for', xff === '' ? peer : `${xff}, ${peer}`);
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
  /** The HTTPS listener when `tls` was given. */
  readonly tlsServer: Server | undefined;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:`port` (0 = any) and round-robins over the upstream ports `backends`; `tls`: also an
 * HTTPS listener on `tls.port` with that certificate, sharing the pools and the round-robin.
 */
export async function startNodeRaw(
  port: number,
  backends: readonly number[],
  tls?: { port: number; cert: string; key: string },
): Promise<NodeRaw> {
  const options = { connectTimeout: 5_000, keepAliveTimeout: 4_000, connections: 512 };
  const pools = backends.map((p) => new H1Pool('127.0.0.1', p, options));
  let next = 0;
  const onRequest = (req: IncomingMessage, res: ServerResponse) =>
    handle(pools[next++ % pools.length] as H1Pool, req, res);
  // As the product's listeners (front/listeners.ts): a bodiless request comes already ended.
  const o = { optimizeEmptyRequests: true };
  const servers: Server[] = [createServer(o, onRequest)];
  if (tls !== undefined) servers.push(createTlsServer({ ...o, cert: tls.cert, key: tls.key }, onRequest));
  const ports = [port, tls?.port ?? 0];
  await Promise.all(
    servers.map((server, i) => {
      server.keepAliveTimeout = 60_000;
      return new Promise<void>((resolve) => server.listen(ports[i], '127.0.0.1', resolve));
    }),
  );
  return {
    server: servers[0] as Server,
    tlsServer: servers[1],
    close: async () => {
      const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const s of servers) s.closeAllConnections();
      await Promise.all([...closed, ...pools.map((p) => p.destroy())]);
    },
  };
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--tls');
  const tlsArgs = at >= 0 ? argv.splice(at, 4).slice(1) : [];
  const [port, ...backends] = argv.map(Number);
  const tls =
    tlsArgs.length === 3
      ? {
          port: Number(tlsArgs[0]),
          cert: readFileSync(tlsArgs[1] as string, 'utf8'),
          key: readFileSync(tlsArgs[2] as string, 'utf8'),
        }
      : undefined;
  await startNodeRaw(port as number, backends, tls);
  process.on('SIGTERM', () => process.exit(0));
}
