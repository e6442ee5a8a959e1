import { performance } from 'node:perf_hooks';
import { connect } from 'node:tls';
import { percentile } from './stats.ts';

/** New-connection run: `concurrency` loops, each a full TLS handshake + one request + close, for `seconds`. */
export interface TlsHandshakeOptions {
  port: number;
  servername: string;
  concurrency: number;
  seconds: number;
}

/** Full handshakes (with their one request answered) per second; no session is ever resumed. */
export interface TlsHandshakeResult {
  handshakesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

/**
 * The Node alternative to `wrk -H 'Connection: close'` over https. Sessions are never offered back
 * (no `session` option), so every connection pays the full handshake, like wrk.
 */
export async function runTlsHandshakes(o: TlsHandshakeOptions): Promise<TlsHandshakeResult> {
  const times: number[] = [];
  let failures = 0;
  const request = `GET / HTTP/1.1\r\nHost: ${o.servername}\r\nConnection: close\r\n\r\n`;
  const deadline = performance.now() + o.seconds * 1000;
  const started = performance.now();
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const ok = await once(o, request);
      if (ok) times.push(performance.now() - t0);
      else failures += 1;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, loop));
  const elapsed = (performance.now() - started) / 1000;
  return {
    handshakesPerSec: times.length / elapsed,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    failures,
  };
}

function once(o: TlsHandshakeOptions, request: string): Promise<boolean> {
  return new Promise((resolve) => {
    let head = '';
    const socket = connect({
      host: '127.0.0.1',
      port: o.port,
      servername: o.servername,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    socket.setEncoding('latin1');
    socket.once('secureConnect', () => socket.write(request));
    socket.on('data', (chunk: string) => {
      if (head.length < 16) head += chunk;
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(/^HTTP\/1\.1 2\d\d/.test(head)));
    socket.setTimeout(5000, () => socket.destroy());
  });
}
