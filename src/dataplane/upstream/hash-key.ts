import type { IncomingHttpHeaders } from 'node:http';
import type { HashPart } from '../../snapshot/index.ts';

/** What a hash key may read of a request: the client address decide() used, the raw target, the headers. */
export interface HashInput {
  readonly clientAddress: string;
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
}

/**
 * The request's hash key: the parts concatenated, each variable replaced by the request's value ('' when the
 * header or cookie is absent, as nginx does). The parts are data from the snapshot; nothing is evaluated.
 */
export function hashKey(parts: readonly HashPart[], input: HashInput): string {
  if (parts.length === 1) return partValue(parts[0] as HashPart, input);
  let key = '';
  for (const part of parts) key += partValue(part, input);
  return key;
}

function partValue(part: HashPart, input: HashInput): string {
  switch (part.kind) {
    case 'literal':
      return part.text;
    case 'remote-addr':
      return input.clientAddress;
    case 'request-uri':
      return input.target;
    case 'header': {
      const v = input.headers[part.name];
      return v === undefined ? '' : Array.isArray(v) ? v.join(', ') : v;
    }
    case 'cookie':
      return cookieValue(input.headers.cookie, part.name);
  }
}

/** The first value of cookie `name` in a Cookie header (RFC 6265 5.4 pairs separated by `;`). */
export function cookieValue(header: string | undefined, name: string): string {
  if (header === undefined) return '';
  let at = 0;
  // Bounded by the header length: each turn moves past one `;`.
  while (at < header.length) {
    const end = header.indexOf(';', at);
    const stop = end === -1 ? header.length : end;
    const eq = header.indexOf('=', at);
    if (eq !== -1 && eq < stop && header.slice(at, eq).trim() === name)
      return header.slice(eq + 1, stop).trim();
    at = stop + 1;
  }
  return '';
}

/** The hash key of a request for `backend`, or undefined when it does not balance by hash. */
export function requestHashKey(
  backend: { readonly hashBy?: readonly HashPart[] | undefined },
  clientAddress: string,
  req: { readonly url?: string | undefined; readonly headers: IncomingHttpHeaders },
): string | undefined {
  const parts = backend.hashBy;
  if (parts === undefined) return undefined;
  return hashKey(parts, { clientAddress, target: req.url ?? '', headers: req.headers });
}
