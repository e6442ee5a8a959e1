/**
 * Reference point, not a product: node:http's own floor for a local answer. Every request gets a 308 to
 * `https://<host><url>` with `content-length: 0` by `res.writeHead(308, flatArray); res.end()`, nothing else
 * (no routing, no validation, no log, no metrics): what sticky-ingress's redirect costs before its own work.
 * On the `http` scenario's host (http.bench) it answers `200 ok` the same way, a hello-world floor.
 * Usage: node bench/lib/node-hello.ts PORT [BACKEND...] (backends ignored; same arguments as node-bare).
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const HELLO_HOST = 'http.bench';

const server = createServer((req, res) => {
  const host = req.headers.host ?? '';
  if (host === HELLO_HOST) {
    res.writeHead(200, ['content-type', 'text/plain', 'content-length', '3']);
    res.end('ok\n');
    return;
  }
  res.writeHead(308, ['location', `https://${host}${req.url}`, 'content-length', '0']);
  res.end();
});
// Same keep-alive as the product's default and node-bare: wrk's connections stay open for the whole run.
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
