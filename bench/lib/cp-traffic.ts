/**
 * Worker thread of the control-plane bench: a backend HTTP server and a bounded keep-alive request loop
 * against the dataplane, on their own event loop so a long apply() on the main thread shows as latency.
 * Messages in: {type:'run', port, host, concurrency, seconds, maxRequests}, {type:'close'}.
 * Messages out: {type:'backend', port}, {type:'done', samples: [atEpochMs, latencyMs][], errors}.
 */
import { Agent, createServer, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';

interface RunMessage {
  type: 'run';
  port: number;
  host: string;
  concurrency: number;
  seconds: number;
  maxRequests: number;
}

const port = parentPort;
if (!port) throw new Error('cp-traffic.ts runs as a worker thread');

const backend = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok\n');
});
backend.keepAliveTimeout = 60_000;
backend.listen(0, '127.0.0.1', () => {
  port.postMessage({ type: 'backend', port: (backend.address() as { port: number }).port });
});

port.on('message', (msg: RunMessage | { type: 'close' }) => {
  if (msg.type === 'close') {
    backend.close();
    backend.closeAllConnections();
    port.close();
    return;
  }
  void run(msg).then((result) => port.postMessage({ type: 'done', ...result }));
});

async function run(m: RunMessage): Promise<{ samples: [number, number][]; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: m.concurrency });
  const samples: [number, number][] = [];
  let errors = 0;
  const deadline = performance.now() + m.seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline && samples.length + errors < m.maxRequests) {
      const t0 = performance.now();
      const ok = await once(agent, m);
      if (ok) samples.push([performance.timeOrigin + t0, performance.now() - t0]);
      else errors += 1;
    }
  };
  await Promise.all(Array.from({ length: m.concurrency }, loop));
  agent.destroy();
  return { samples, errors };
}

function once(agent: Agent, m: RunMessage): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: m.port, path: '/', headers: { host: m.host }, agent },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode === 200));
      },
    );
    req.once('error', () => resolve(false));
    req.end();
  });
}
