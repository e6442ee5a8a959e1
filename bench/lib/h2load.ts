import { execFile } from 'node:child_process';

/**
 * One h2load run (Debian `nghttp2-client`): `h2load -t1 -c<clients> -m<streams> -D<seconds>` over TLS with
 * ALPN `h2` only, pinned to `cpu`. `url`'s host is the SNI and `:authority`; `connectTo` (`127.0.0.1:PORT`)
 * is where the TCP connection goes, so no name is ever resolved.
 */
export interface H2loadOptions {
  url: string;
  connectTo: string;
  seconds: number;
  /** Concurrent clients (connections). */
  clients: number;
  /** Concurrent streams per connection (`-m`): requests in flight on one keep-alive connection. */
  streams: number;
  warmUpSeconds?: number;
  cpu?: string;
}

/** What h2load reported: throughput, request time (h2load gives mean and sd, no percentiles) and failures. */
export interface H2loadResult {
  requestsPerSec: number;
  requests: number;
  succeeded: number;
  /** failed + errored + timeout, as h2load counts them. */
  failed: number;
  /** Responses outside 2xx/3xx. */
  non2xx3xx: number;
  meanMs: number;
  sdMs: number;
  /** The ALPN protocol h2load negotiated (`h2` expected; anything else is not an h2 measurement). */
  protocol: string;
}

/**
 * Runs h2load and parses its report; rejects when it fails, prints no summary or did not speak h2. h2load
 * 1.52 sometimes dies by a signal or never exits at the end of a -D run against sticky-ingress (streams
 * still open when it stops its clients): such a run is killed at its bound and repeated, at most 3 times.
 */
export async function runH2load(o: H2loadOptions): Promise<H2loadResult> {
  const args = ['-t1', `-c${o.clients}`, `-m${o.streams}`, `-D${o.seconds}`, '--npn-list=h2'];
  if (o.warmUpSeconds !== undefined) args.push(`--warm-up-time=${o.warmUpSeconds}`);
  args.push(`--connect-to=${o.connectTo}`, o.url);
  const [cmd, argv] = o.cpu === undefined ? ['h2load', args] : ['taskset', ['-c', o.cpu, 'h2load', ...args]];
  const limit = (o.seconds + (o.warmUpSeconds ?? 0) + 15) * 1000;
  for (let attempt = 1; ; attempt++) {
    const run = await new Promise<{ out: string; problem?: string; retry: boolean }>((resolve) => {
      execFile(
        cmd,
        argv,
        { timeout: limit, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
        (err, out, errOut) => {
          if (!err) resolve({ out, retry: false });
          else resolve({ out, problem: `${err.message} ${errOut}`, retry: err.signal != null });
        },
      );
    });
    if (run.problem === undefined) {
      const r = parseH2load(run.out);
      if (r.protocol !== 'h2') throw new Error(`h2load negotiated ${r.protocol || 'nothing'}, not h2`);
      return r;
    }
    if (!run.retry || attempt >= 3) throw new Error(`h2load ${o.url}: ${run.problem}`);
    console.error(`h2load ${o.url}: killed (${run.problem.split('\n')[0]}), run ${attempt + 1} of 3`);
  }
}

/** Parses h2load's (nghttp2 1.4x-1.6x) summary. Exported for its unit test. */
export function parseH2load(text: string): H2loadResult {
  const finished = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(text);
  if (!finished) throw new Error(`h2load printed no "finished in" line:\n${text}`);
  const req =
    /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      text,
    );
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  const time = /time for request:\s+\S+\s+\S+\s+(\S+)\s+(\S+)/.exec(text);
  return {
    requestsPerSec: Number(finished[1]),
    requests: req ? Number(req[2]) : 0,
    succeeded: req ? Number(req[3]) : 0,
    failed: req ? Number(req[4]) + Number(req[5]) + Number(req[6]) : 0,
    non2xx3xx: codes ? Number(codes[3]) + Number(codes[4]) : 0,
    meanMs: time ? toMs(time[1] as string) : Number.NaN,
    sdMs: time ? toMs(time[2] as string) : Number.NaN,
    protocol: /Application protocol: (\S+)/.exec(text)?.[1] ?? '',
  };
}

/** h2load durations: `850us`, `1.23ms`, `1.02s`. */
function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}
