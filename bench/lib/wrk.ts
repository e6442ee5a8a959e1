import { execFile } from 'node:child_process';

/** One wrk run: `wrk -t1 -c<connections> -d<seconds>s --latency [-H ...] url`, pinned to `cpu`. */
export interface WrkOptions {
  url: string;
  seconds: number;
  connections: number;
  headers?: readonly string[];
  cpu?: string;
}

/** What wrk reported: throughput, latency percentiles (ms) and every kind of failure it counts. */
export interface WrkResult {
  requestsPerSec: number;
  requests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Responses outside 2xx/3xx. */
  non2xx3xx: number;
  socketErrors: number;
}

/** Runs wrk and parses its report; rejects when wrk fails or prints no throughput line. */
export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', '--timeout', '5s'];
  for (const h of o.headers ?? []) args.push('-H', h);
  args.push(o.url);
  const [cmd, argv] = o.cpu === undefined ? ['wrk', args] : ['taskset', ['-c', o.cpu, 'wrk', ...args]];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(cmd, argv, { timeout: (o.seconds + 30) * 1000 }, (err, out, errOut) => {
      if (err) reject(new Error(`wrk ${o.url}: ${err.message} ${errOut}`));
      else resolve(out);
    });
  });
  return parseWrk(stdout);
}

/** Parses wrk 4.x output (the `--latency` distribution included). Exported for its unit test. */
export function parseWrk(text: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!rps) throw new Error(`wrk printed no Requests/sec line:\n${text}`);
  const total = /(\d+) requests in/.exec(text);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(text);
    return m ? toMs(Number(m[1]), m[2] as string) : Number.NaN;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requestsPerSec: Number(rps[1]),
    requests: total ? Number(total[1]) : 0,
    p50Ms: pct('50'),
    p90Ms: pct('90'),
    p99Ms: pct('99'),
    non2xx3xx: non ? Number(non[1]) : 0,
    socketErrors,
  };
}

function toMs(v: number, unit: string): number {
  if (unit === 'us') return v / 1000;
  if (unit === 's') return v * 1000;
  return v;
}
