import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';

/** An open WebSocket client and the 101 response that opened it. */
export interface OpenSocket {
  ws: WebSocket;
  upgrade: IncomingMessage;
}

/** Opens a WebSocket to `url` with a Host header; rejects on error or an unexpected HTTP response. */
export function openWebSocket(
  url: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<OpenSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { host, ...headers }, rejectUnauthorized: false });
    let upgrade: IncomingMessage | undefined;
    ws.once('upgrade', (res) => {
      upgrade = res;
    });
    ws.once('open', () => resolve({ ws, upgrade: upgrade as IncomingMessage }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

/** Sends `text` and resolves with the next message. */
export function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (d: Buffer) => resolve(d.toString()));
    ws.once('error', reject);
    ws.send(text);
  });
}

/** Resolves when the socket is closed (immediately if it already is). */
export function closed(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => ws.once('close', () => resolve()));
}
