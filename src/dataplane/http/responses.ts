import type { ServerResponse } from 'node:http';

/**
 * Small plain-text responses the dataplane answers itself (404, 502, 503, 504, 400). Never a stack trace:
 * the body says what happened from the client's side, the log line says why.
 */
export const BODIES: Readonly<Record<number, string>> = {
  400: 'Bad Request\n',
  404: 'Not Found: no route for this host and path\n',
  502: 'Bad Gateway: the upstream could not be reached\n',
  503: 'Service Unavailable: no upstream endpoint is available\n',
  504: 'Gateway Timeout: the upstream did not answer in time\n',
};

/** Writes a complete local response in one write; `extra` is a flat [name, value, ...] list. */
export function sendLocal(
  res: ServerResponse,
  status: number,
  extra: string[] | undefined,
  draining: boolean,
): void {
  const body = BODIES[status] ?? `${status}\n`;
  const headers = [
    'content-type',
    'text/plain; charset=utf-8',
    'content-length',
    String(Buffer.byteLength(body)),
    'cache-control',
    'no-store',
  ];
  if (extra !== undefined) headers.push(...extra);
  if (draining) headers.push('connection', 'close');
  res.writeHead(status, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
