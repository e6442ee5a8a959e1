import type { Readable } from 'node:stream';
import { H1Error } from './h1-parser.ts';

/**
 * The request side of our HTTP/1.1 client (h1-client.ts): what a request carries and its head as one latin1
 * string, refused (never escaped) when a method, target, field name or value could split it.
 */

/** What one request needs; the same fields the exchange gives undici's Pool.dispatch. */
export interface H1Request {
  readonly method: string;
  readonly path: string;
  /** Flat [name, value, ...] list; Host included (else the endpoint's authority is sent). */
  readonly headers: string[];
  /** Request body streamed after the head, or null; without a content-length header it is sent chunked. */
  readonly body: Readable | null;
  /** Read (headers and body inactivity) timeout in ms. */
  readonly headersTimeout?: number;
  readonly bodyTimeout?: number;
  /**
   * The request may be sent again (undici's option of the same name): when a reused keep-alive connection
   * closes before any response byte, the pool resends it once on a fresh connection if no body byte was read.
   */
  readonly idempotent?: boolean;
  /** TLS server name for undici's TLS pools (http-proxy.ts); ours speak plain TCP and ignore it. */
  readonly servername?: string | undefined;
}

// RFC 9110 §5.1 token (method, field names) and §5.5 field values without CR, LF or NUL; origin-form target
// (RFC 9112 §3.2.1) with no controls or spaces: anything else would let a value split the request.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^\/[\x21-\x7e\x80-\xff]*$/;

/** Builds the request head; throws H1Error('H1_ERR_INVALID_REQUEST') on anything that could split it. */
export function requestHead(req: H1Request, authority: string): { head: string; chunked: boolean } {
  if (!TOKEN.test(req.method) || req.method === 'CONNECT') {
    throw new H1Error('H1_ERR_INVALID_REQUEST', 'invalid method');
  }
  if (!TARGET.test(req.path)) throw new H1Error('H1_ERR_INVALID_REQUEST', 'invalid request target');
  let head = `${req.method} ${req.path} HTTP/1.1\r\n`;
  let hasHost = false;
  let hasLength = false;
  const h = req.headers;
  for (let i = 0; i + 1 < h.length; i += 2) {
    const name = h[i] as string;
    const value = h[i + 1] as string;
    if (!TOKEN.test(name) || !VALUE.test(value)) {
      throw new H1Error('H1_ERR_INVALID_REQUEST', `invalid header field ${JSON.stringify(name)}`);
    }
    const n = name.length === 4 || name.length === 14 ? name.toLowerCase() : '';
    if (n === 'host') hasHost = true;
    else if (n === 'content-length') hasLength = true;
    head += `${name}: ${value}\r\n`;
  }
  if (!hasHost) head += `host: ${authority}\r\n`;
  const chunked = req.body !== null && !hasLength;
  if (chunked) head += 'transfer-encoding: chunked\r\n';
  return { head: `${head}\r\n`, chunked };
}
