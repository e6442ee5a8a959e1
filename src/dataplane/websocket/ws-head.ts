import type { IncomingMessage } from 'node:http';
import type { Forwarded } from '../front/forwarded.ts';
import { RESPONSE_SKIP, UPGRADE_REQUEST_SKIP } from '../http/hop-by-hop.ts';
import { upstreamHeaders } from '../http/http-proxy.ts';
import { errorAnswer, rawAnswer } from '../http/responses.ts';

/**
 * Header text of the Upgrade exchange: the request sent upstream (node:http's raw list form) and the
 * response heads written on the client's raw socket.
 */

/**
 * The upstream Upgrade request's headers: the client's minus hop-by-hop and Connection-nominated ones, Host
 * set to `host`, `Connection: Upgrade` and `Upgrade: websocket`, the forwarded set. Only the WebSocket token
 * is offered upstream: a client's `Upgrade: websocket, h2c` (or a repeated Upgrade header) must not let the
 * backend pick another protocol for a tunnel we opened as WebSocket (the h2c-smuggling class).
 */
export function upgradeRequestHeaders(req: IncomingMessage, fwd: Forwarded, host: string): string[] {
  const out = upstreamHeaders(req, fwd, host, UPGRADE_REQUEST_SKIP);
  out.push('connection', 'Upgrade', 'upgrade', 'websocket');
  return out;
}

/** The 101 head for the client: the upstream's status line and headers as received, plus our Set-Cookie. */
export function switchingProtocolsHead(res: IncomingMessage, setCookie: string | undefined): string {
  let head = `HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}\r\n`;
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  if (setCookie !== undefined) head += `set-cookie: ${setCookie}\r\n`;
  return `${head}\r\n`;
}

/** Head of a non-101 upstream answer relayed to the client; the body that follows ends with the connection. */
export function relayedResponseHead(res: IncomingMessage, setCookie: string | undefined): string {
  let head = `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n`;
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (RESPONSE_SKIP.has(name.toLowerCase())) continue;
    head += `${name}: ${raw[i + 1]}\r\n`;
  }
  if (setCookie !== undefined) head += `set-cookie: ${setCookie}\r\n`;
  return `${head}connection: close\r\n\r\n`;
}

/** A complete local error answer on the raw socket (the upgrade could not reach an endpoint): the HTTP path's. */
export function errorHead(status: 502 | 504, hsts: string | undefined): string {
  return rawAnswer(errorAnswer(status, hsts, true));
}
