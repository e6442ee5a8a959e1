import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { percentile } from './stats.ts';

/** socket.io handshake run: `concurrency` loops of fresh (cookie-less) clients for `seconds`. */
export interface SocketIoOptions {
  /** `http://127.0.0.1:PORT` of the proxy. */
  origin: string;
  host: string;
  concurrency: number;
  seconds: number;
}

/** Completed handshakes per second, their latency, and failures (a 400 here means affinity broke). */
export interface SocketIoResult {
  handshakesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

const PATH = '/socket.io/?EIO=4&transport=polling';

/**
 * One handshake is what a socket.io client does before it can emit over long-polling: open (GET, gets
 * the sid and the proxy's affinity cookie), CONNECT packet (POST `40`), and the poll that returns the
 * namespace ack `40{"sid":...}`. The last two only succeed on the backend that issued the sid.
 */
export async function runSocketIo(o: SocketIoOptions): Promise<SocketIoResult> {
  const pool = new Pool(o.origin, { connections: o.concurrency, pipelining: 1 });
  const times: number[] = [];
  let failures = 0;
  const deadline = performance.now() + o.seconds * 1000;
  const started = performance.now();
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await handshake(pool, o.host);
        times.push(performance.now() - t0);
      } catch {
        failures += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, loop));
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  return {
    handshakesPerSec: times.length / elapsed,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    failures,
  };
}

async function handshake(pool: Pool, host: string): Promise<void> {
  const first = await pool.request({ path: PATH, method: 'GET', headers: { host } });
  const body = await first.body.text();
  const m = /"sid":"([^"]+)"/.exec(body);
  if (first.statusCode !== 200 || !m) throw new Error(`open: HTTP ${first.statusCode}`);
  const cookie = cookiesOf(first.headers['set-cookie']);
  const headers = { host, cookie, 'content-type': 'text/plain;charset=UTF-8' };
  const path = `${PATH}&sid=${m[1]}`;
  const post = await pool.request({ path, method: 'POST', headers, body: '40' });
  await post.body.text();
  if (post.statusCode !== 200) throw new Error(`connect: HTTP ${post.statusCode}`);
  const poll = await pool.request({ path, method: 'GET', headers });
  const ack = await poll.body.text();
  if (poll.statusCode !== 200 || !ack.startsWith('40')) throw new Error(`ack: HTTP ${poll.statusCode}`);
}

/** `Set-Cookie` values reduced to a `Cookie` header (name=value pairs). */
function cookiesOf(setCookie: string | string[] | undefined): string {
  const list = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
  return list.map((c) => c.split(';', 1)[0]).join('; ');
}
