/**
 * Bench backend process: on each port given in argv, an HTTP server with a WebSocket echo on /ws and a
 * socket.io server on /socket.io/ (short ping so abandoned handshakes are reaped during a run).
 * Usage: node bench/lib/backend-node.ts PORT [PORT...]
 */
import { createServer } from 'node:http';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer } from 'ws';

function serve(port: number): void {
  // Plain requests get the headers the proxy sent and which endpoint answered: the probe checks both.
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ port, headers: req.headers }));
  });
  server.keepAliveTimeout = 300_000;
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const io = new SocketIoServer(server, {
    pingInterval: 5000,
    pingTimeout: 5000,
    serveClient: false,
    destroyUpgrade: false,
  });
  io.on('connection', (socket) => {
    socket.on('echo', (msg: unknown, ack?: (m: unknown) => void) => ack?.(msg));
  });
  // socket.io owns upgrades under its path; everything else under /ws is ours.
  server.on('upgrade', (req, socket, head) => {
    if (!req.url?.startsWith('/ws')) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  server.listen(port, '127.0.0.1');
}

for (const arg of process.argv.slice(2)) serve(Number(arg));
process.on('SIGTERM', () => process.exit(0));
