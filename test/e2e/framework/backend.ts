/**
 * A test backend, run inside a network namespace: `node backend.ts --id NAME --host ADDR --port N`.
 * HTTP answers JSON stamped with its id (header `x-backend-id` too); `/ws` is a WebSocket echo that greets
 * with its id; socket.io on the default path greets (`hello`) and answers `whoami`. Prints one JSON line
 * `{"ready":true}` once listening; SIGTERM closes everything and exits 0. `/__e2e/ready` is the Pod's
 * readiness on a real cluster (existing-cluster.ts): GET answers 200 or 503, PUT `true`/`false` sets it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';
import { WebSocketServer } from 'ws';

const { values } = parseArgs({
  options: { id: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } },
});
const id = values.id ?? 'backend';
const host = values.host ?? '127.0.0.1';
const port = Number(values.port ?? '3000');

let ready = true;
const server = createServer((req, res) => {
  if (req.url?.startsWith('/socket.io/')) return; // socket.io's own listener answers these
  if (req.url === READY_PATH) return readiness(req, res);
  const body = JSON.stringify({
    id,
    method: req.method,
    url: req.url,
    host: req.headers.host,
    forwardedFor: req.headers['x-forwarded-for'],
    forwardedProto: req.headers['x-forwarded-proto'],
    cookie: req.headers.cookie,
  });
  res.writeHead(200, { 'content-type': 'application/json', 'x-backend-id': id });
  res.end(body);
});

/** The readinessProbe's path: the framework turns a Pod unready the way a real app's probe fails. */
const READY_PATH = '/__e2e/ready';
function readiness(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    if (body.length < 16) body += chunk;
  });
  req.on('end', () => {
    if (req.method === 'PUT') ready = body.trim() === 'true';
    // A PUT always succeeds (it is the framework's call); a GET is the probe.
    res.writeHead(req.method === 'PUT' || ready ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ready }));
  });
}

const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (socket) => {
  socket.send(JSON.stringify({ id }));
  socket.on('message', (data) => socket.send(`${id}:${data.toString()}`));
});
server.on('upgrade', (req, socket, head) => {
  if (req.url?.startsWith('/socket.io/')) return;
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});

const io = new Server(server, { destroyUpgrade: false, cors: { origin: '*' } });
io.on('connection', (socket) => {
  socket.emit('hello', { id, transport: socket.conn.transport.name });
  socket.on('whoami', (ack: unknown) => {
    if (typeof ack === 'function') ack({ id, transport: socket.conn.transport.name });
  });
});

server.listen(port, host, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, id, host, port })}\n`);
});

process.on('SIGTERM', () => {
  io.close();
  for (const client of wss.clients) client.terminate();
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
