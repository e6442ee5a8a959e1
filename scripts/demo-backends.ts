import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as SocketIoServer } from 'socket.io';

/** One running demo backend: its name, loopback port and a close(). */
export interface DemoBackend {
  name: string;
  port: number;
  close(): Promise<void>;
}

interface ChatMessage {
  from: string;
  text: string;
}

/**
 * Starts `count` socket.io backends on 127.0.0.1 (port 0). Each serves the demo page naming itself on `/` and
 * a chat on `/socket.io/`; a chat message reaches the clients of every backend through an in-process bus
 * (what a Redis adapter does across pods).
 */
export async function startDemoBackends(count: number, pagePath: URL): Promise<DemoBackend[]> {
  const template = await readFile(pagePath, 'utf8');
  const bus = new EventEmitter();
  bus.setMaxListeners(count + 1);
  const backends: DemoBackend[] = [];
  for (let i = 1; i <= count; i++) backends.push(await startBackend(`backend-${i}`, template, bus));
  return backends;
}

async function startBackend(name: string, template: string, bus: EventEmitter): Promise<DemoBackend> {
  const page = template.replaceAll('{{BACKEND}}', name);
  const http: Server = createServer((req, res) => {
    if (req.url === '/' || req.url?.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-backend': name });
      res.end(page);
      return;
    }
    if (req.url === '/whoami') {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': name });
      res.end(`${name}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  const io = new SocketIoServer(http, { serveClient: true });
  let seq = 0;
  io.on('connection', (socket) => {
    socket.emit('hello', { backend: name });
    socket.on('chat', (text: unknown) => {
      seq += 1;
      bus.emit('chat', { from: `${name}#${seq}`, text: String(text).slice(0, 500) } satisfies ChatMessage);
    });
  });
  const relay = (m: ChatMessage) => io.emit('chat', { ...m, via: name });
  bus.on('chat', relay);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  return {
    name,
    port,
    close: async () => {
      bus.off('chat', relay);
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
