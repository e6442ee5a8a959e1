import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer } from 'ws';

/** What a test backend saw of one request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

/** A running test backend; `id` is stamped on every response (`x-backend-id` header and JSON body). */
export interface TestBackend {
  id: string;
  port: number;
  server: Server;
  seen: SeenRequest[];
  /** Open WebSocket connections (ws echo). */
  sockets: number;
  close(): Promise<void>;
}

/** Optional per-request behaviour; return true when the handler answered itself. */
export type BackendHook = (req: IncomingMessage, res: ServerResponse, id: string) => boolean;

/**
 * Starts `n` HTTP backends on 127.0.0.1:0. Each answers JSON `{ id, method, url, headers }` and, on Upgrade,
 * a WebSocket echo (the 101 carries `x-backend-id`; each message is echoed back prefixed with `<id>:`).
 */
export async function startBackends(n: number, hook?: BackendHook): Promise<TestBackend[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startBackend(`b${i}`, hook)));
}

export async function startBackend(id: string, hook?: BackendHook): Promise<TestBackend> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (hook?.(req, res, id)) return;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        id,
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend-id': id });
      res.end(body);
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  wss.on('headers', (headers) => headers.push(`x-backend-id: ${id}`));
  const backend: TestBackend = { id, port: 0, server, seen, sockets: 0, close: async () => {} };
  server.on('upgrade', (req, socket, head) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    wss.handleUpgrade(req, socket, head, (ws) => {
      backend.sockets++;
      ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${id}:${data.toString()}`));
      ws.on('close', () => backend.sockets--);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  backend.close = async () => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return backend;
}

/** A socket.io backend: `whoami` acks with its id; every engine.io response carries `x-backend-id`. */
export interface SocketIoBackend {
  id: string;
  port: number;
  io: SocketIoServer;
  close(): Promise<void>;
}

/** Starts `n` socket.io servers on 127.0.0.1:0 (default path /socket.io/). */
export async function startSocketIoBackends(n: number): Promise<SocketIoBackend[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const id = `sio${i}`;
      const server = createServer();
      const io = new SocketIoServer(server, { pingInterval: 60_000, pingTimeout: 60_000 });
      io.engine.on('headers', (headers: Record<string, string>) => {
        headers['x-backend-id'] = id;
      });
      io.on('connection', (socket) => {
        socket.on('whoami', (ack: (id: string) => void) => ack(id));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      return {
        id,
        port,
        io,
        close: async () => {
          io.disconnectSockets(true);
          await new Promise<void>((resolve) => io.close(() => resolve()));
          server.closeAllConnections();
        },
      };
    }),
  );
}

/** Closes every backend in the list. */
export async function closeAll(list: { close(): Promise<void> }[]): Promise<void> {
  await Promise.all(list.map((b) => b.close()));
}
