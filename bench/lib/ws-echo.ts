import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { percentile } from './stats.ts';

/** Echo run: `connections` WebSockets, each sending a 32-byte message and waiting for its echo, for `seconds`. */
export interface WsEchoOptions {
  url: string;
  host: string;
  connections: number;
  seconds: number;
}

/** Round trips per second and their latency percentiles (ms); `errors` counts failed sockets. */
export interface WsEchoResult {
  messagesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** Runs the echo loop through a proxy; every socket is closed before it resolves. */
export async function runWsEcho(o: WsEchoOptions): Promise<WsEchoResult> {
  const sockets = await Promise.all(Array.from({ length: o.connections }, () => open(o)));
  const rtts: number[] = [];
  let errors = 0;
  const payload = Buffer.alloc(32, 'x');
  const deadline = performance.now() + o.seconds * 1000;
  const started = performance.now();
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          let sent = 0;
          const send = () => {
            if (performance.now() >= deadline) return resolve();
            sent = performance.now();
            ws.send(payload);
          };
          ws.on('message', () => {
            rtts.push(performance.now() - sent);
            send();
          });
          ws.once('error', () => {
            errors += 1;
            resolve();
          });
          ws.once('close', () => resolve());
          send();
        }),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all(sockets.map((ws) => close(ws)));
  return {
    messagesPerSec: rtts.length / elapsed,
    p50Ms: percentile(rtts, 50),
    p99Ms: percentile(rtts, 99),
    errors,
  };
}

/** Opens one WebSocket with the Host header of the proxied site; rejects on error or a non-101 answer. */
export function open(o: { url: string; host: string }): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    // wss (ws-idle --wss): the bench's self-signed certificate, SNI from the Host it routes on.
    const tls = o.url.startsWith('wss:') ? { rejectUnauthorized: false, servername: o.host } : {};
    const ws = new WebSocket(o.url, { headers: { host: o.host }, perMessageDeflate: false, ...tls });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`${o.url}: HTTP ${res.statusCode}`)));
  });
}

/** Closes a socket and waits for the close to complete (terminates after 2 s). */
export function close(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), 2000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close();
  });
}
