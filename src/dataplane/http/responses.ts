import type { ServerResponse } from 'node:http';

/**
 * The one table of answers the dataplane gives itself (400, 403, 404, 502, 503, 504) and their heads, for the
 * HTTP path (ServerResponse) and the Upgrade path (raw socket) alike: same status, body and headers. Never a
 * stack trace: the body says what happened from the client's side, the log line says why.
 */
const ANSWERS: Readonly<Record<number, readonly [reason: string, body: string]>> = {
  204: ['No Content', ''],
  400: ['Bad Request', 'Bad Request\n'],
  403: ['Forbidden', 'Forbidden: this client may not use this route\n'],
  404: ['Not Found', 'Not Found: no route for this host and path\n'],
  413: ['Content Too Large', "Content Too Large: the request body is above this route's limit\n"],
  502: ['Bad Gateway', 'Bad Gateway: the upstream could not be reached\n'],
  500: ['Internal Server Error', 'Internal Server Error: the route has no valid backend for this request\n'],
  503: ['Service Unavailable', 'Service Unavailable: no upstream endpoint is available\n'],
  504: ['Gateway Timeout', 'Gateway Timeout: the upstream did not answer in time\n'],
};

const REDIRECT_REASONS: Readonly<Record<number, string>> = {
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
};

/** A local answer: status, reason phrase, flat [name, value, ...] headers and body. */
export interface LocalAnswer {
  readonly status: number;
  readonly reason: string;
  readonly headers: string[];
  readonly body: string;
}

/**
 * The local error answer for `status`; `hsts` (HTTPS only) is added; `close` adds `Connection: close`;
 * `extra` headers are appended, but no `connection` one on `h2` (RFC 9113 8.2.2).
 */
export function errorAnswer(
  status: number,
  hsts: string | undefined,
  close: boolean,
  extra?: readonly string[],
  h2 = false,
): LocalAnswer {
  const [reason, body] = ANSWERS[status] ?? ['', `${status}\n`];
  const headers = [
    'content-type',
    'text/plain; charset=utf-8',
    'content-length',
    String(Buffer.byteLength(body)),
    'cache-control',
    'no-store',
  ];
  if (hsts !== undefined) headers.push('strict-transport-security', hsts);
  if (close) headers.push('connection', 'close');
  if (extra !== undefined) {
    for (let i = 0; i + 1 < extra.length; i += 2) {
      if (h2 && extra[i] === 'connection') continue;
      headers.push(extra[i] as string, extra[i + 1] as string);
    }
  }
  return { status, reason, headers, body };
}

/** A redirect answer to `location` (no body). */
export function redirectAnswer(status: number, location: string, close: boolean): LocalAnswer {
  const headers = ['location', location, 'content-length', '0'];
  if (close) headers.push('connection', 'close');
  return { status, reason: REDIRECT_REASONS[status] ?? '', headers, body: '' };
}

/** Writes `answer` on a ServerResponse in one write (no body for HEAD). */
export function sendAnswer(res: ServerResponse, answer: LocalAnswer): void {
  res.writeHead(answer.status, answer.headers);
  res.end(res.req.method === 'HEAD' ? undefined : answer.body);
}

/** `answer` as the bytes of a complete HTTP/1.1 response, for a raw (upgrade) socket. */
export function rawAnswer(answer: LocalAnswer): string {
  let head = `HTTP/1.1 ${answer.status} ${answer.reason}\r\n`;
  const h = answer.headers;
  for (let i = 0; i + 1 < h.length; i += 2) head += `${h[i]}: ${h[i + 1]}\r\n`;
  return `${head}\r\n${answer.body}`;
}

/** The response can no longer be written: HTTP/1.1 socket destroyed, or the HTTP/2 stream reset/closed. */
export function clientGone(res: ServerResponse): boolean {
  // An h2 stream being closed (RST_STREAM, connection gone) reports `closed` before `destroyed`, and its
  // request's 'aborted' fires in between: the upstream client's error handler runs then.
  const stream = (res as { stream?: { destroyed: boolean; closed: boolean } }).stream;
  return stream !== undefined ? stream.destroyed || stream.closed : res.destroyed;
}
