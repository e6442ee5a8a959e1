/**
 * A test backend, run inside a network namespace: `node backend.ts --id NAME --host ADDR --port N`.
 * HTTP answers JSON stamped with its id (header `x-backend-id` too); `/ws` is a WebSocket echo that greets
 * with its id; socket.io on the default path greets (`hello`) and answers `whoami`. Prints one JSON line
 * `{"ready":true}` once listening; SIGTERM closes everything and exits 0. `/__e2e/ready` is the Pod's
 * readiness on a real cluster (existing-cluster.ts): GET answers 200 or 503, PUT `true`/`false` sets it.
 * `--cert FILE --key FILE`: HTTPS with that certificate (it terminates TLS itself, as behind SSL passthrough).
 * `--accept-proxy`: every connection must start with a PROXY v1/v2 header, whose source the JSON reports as
 * `proxySource` (`address:port`); a connection without one is closed.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { Server } from 'socket.io';
import { WebSocketServer } from 'ws';

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'accept-proxy': { type: 'boolean' },
  },
});
const id = values.id ?? 'backend';
const host = values.host ?? '127.0.0.1';
const port = Number(values.port ?? '3000');

const proxySources = new WeakMap<Socket, string>();
const tls =
  values.cert !== undefined && values.key !== undefined
    ? { cert: readFileSync(values.cert), key: readFileSync(values.key) }
    : undefined;
let ready = true;
const server = (tls === undefined ? createServer : createHttpsServer.bind(undefined, tls))((req, res) => {
  if (req.url?.startsWith('/socket.io/')) return; // socket.io's own listener answers these
  if (req.url === READY_PATH) return readiness(req, res);
  const raw = (req.socket as Socket & { _parent?: Socket })._parent ?? req.socket;
  const body = JSON.stringify({
    proxySource: proxySources.get(raw),
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

/** One PROXY header at the start of `b` (proxy-protocol.txt): its source and the rest, or undefined for more. */
function readProxy(b: Buffer): { source: string; rest: Buffer } | 'bad' | undefined {
  const sig = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
  if (b.subarray(0, 6).toString('latin1') === 'PROXY ') {
    const end = b.indexOf('\r\n');
    if (end === -1) return b.length > 107 ? 'bad' : undefined;
    const [, , src, , sport] = b.toString('latin1', 0, end).split(' ');
    return { source: `${src}:${sport}`, rest: b.subarray(end + 2) };
  }
  if (b.length < 16)
    return sig.subarray(0, Math.min(12, b.length)).equals(b.subarray(0, 12)) ? undefined : 'bad';
  if (!b.subarray(0, 12).equals(sig) || b[13] !== 0x11) return 'bad';
  const len = b.readUInt16BE(14);
  if (b.length < 16 + len) return undefined;
  const source = `${b[16]}.${b[17]}.${b[18]}.${b[19]}:${b.readUInt16BE(24)}`;
  return { source, rest: b.subarray(16 + len) };
}

const front = values['accept-proxy']
  ? createTcpServer((socket) => {
      let buffered = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        const got = readProxy(buffered);
        if (got === undefined) return;
        if (got === 'bad') return void socket.destroy();
        socket.pause();
        socket.removeListener('data', onData);
        proxySources.set(socket, got.source);
        if (got.rest.length > 0) socket.unshift(got.rest);
        server.emit('connection', socket);
        // TLS reads the unshifted bytes itself; the HTTP parser needs the flow restarted.
        if (tls === undefined) socket.resume();
      };
      socket.on('data', onData);
      socket.on('error', () => {});
    })
  : server;

front.listen(port, host, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, id, host, port })}\n`);
});

process.on('SIGTERM', () => {
  io.close();
  for (const client of wss.clients) client.terminate();
  server.closeAllConnections();
  if (front !== server) front.close();
  server.close(() => process.exit(0));
});
