import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { AlreadyStartedError, InvalidOptionError } from '../shared/errors.ts';
import { listen } from '../shared/listen.ts';

/** Answers one admin GET; may be async. Errors become a 500 and a log line. */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Options of the admin listener. `ready` decides /readyz (200 or 503). */
export interface AdminServerOptions {
  bindAddress: string;
  port: number;
  ready: () => boolean;
  logger: Logger;
}

/**
 * The admin listener: /healthz (200 while the process runs), /readyz (200 only while ready()), plus whatever
 * other components register with route() (/metrics, /stats). Kept off the traffic ports on purpose.
 */
export class AdminServer {
  #options: AdminServerOptions;
  #routes = new Map<string, AdminHandler>();
  #server: Server | undefined;
  #port = 0;

  constructor(options: AdminServerOptions) {
    if (typeof options.ready !== 'function')
      throw new InvalidOptionError('admin server', 'ready', 'expected a function');
    this.#options = options;
    this.#routes.set('/healthz', (_req, res) => text(res, 200, 'ok\n'));
    this.#routes.set('/readyz', (_req, res) =>
      this.#options.ready() ? text(res, 200, 'ready\n') : text(res, 503, 'not ready\n'),
    );
  }

  /** The bound port (after start()). */
  get port(): number {
    return this.#port;
  }

  /** Registers a GET handler for an exact path; replaces an earlier one. */
  route(path: string, handler: AdminHandler): void {
    this.#routes.set(path, handler);
  }

  async start(): Promise<void> {
    if (this.#server !== undefined) throw new AlreadyStartedError('admin server');
    this.#server = createServer((req, res) => this.#serve(req, res));
    this.#port = await listen(this.#server, this.#options.bindAddress, this.#options.port);
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const handler = this.#routes.get(q === -1 ? url : url.slice(0, q));
    if (handler === undefined) {
      text(res, 404, 'not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      text(res, 405, 'method not allowed\n');
      return;
    }
    try {
      const result = handler(req, res);
      if (result instanceof Promise) result.catch((err: unknown) => this.#failed(res, url, err));
    } catch (err) {
      this.#failed(res, url, err);
    }
  }

  #failed(res: ServerResponse, url: string, err: unknown): void {
    this.#options.logger.error({ err, path: url }, 'admin handler failed');
    if (!res.headersSent) text(res, 500, 'internal error\n');
    else res.destroy();
  }
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
