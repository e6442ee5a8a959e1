/**
 * Reference point, not a product: the leanest Node proxy (node:http in front, one undici Pool per backend,
 * round-robin, X-Forwarded-For, no routing, no affinity). Usage: node bench/lib/node-bare.ts PORT BACKEND...
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, ...backends] = process.argv.slice(2).map(Number);
const pools = backends.map((p) => new Pool(`http://127.0.0.1:${p}`, { connections: 128, pipelining: 1 }));
let next = 0;

const server = createServer((req, res) => {
  const pool = pools[next++ % pools.length] as Pool;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (typeof v === 'string' && k !== 'connection') headers[k] = v;
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  pool
    .request({
      path: req.url ?? '/',
      method: req.method as 'GET',
      headers,
      body: req.method === 'GET' ? null : req,
    })
    .then(
      (up) => {
        res.writeHead(up.statusCode, up.headers as Record<string, string>);
        up.body.pipe(res);
      },
      () => {
        res.writeHead(502).end();
      },
    );
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
