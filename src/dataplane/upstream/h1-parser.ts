/**
 * HTTP/1.1 response head parsing and chunked-body scanning for the upstream client (h1-client.ts), grown from
 * the bench prototype (removed since; PERF-NOTES.md). Strict on purpose: anything ambiguous in the framing
 * (RFC 9112 §6.3, §7.1) is an error, never a guess, because a proxy that frames a response differently from
 * its client is a response-splitting vector (the class of CVE-2023-44487-era desync bugs in proxies).
 */

import { H1Error } from '../../shared/errors.ts';

// H1Error and its reasons live in the error catalogue (src/shared/errors.ts); re-exported for the client.
export { H1Error, type H1Reason } from '../../shared/errors.ts';

/** How the body of a response ends (RFC 9112 §6.3). */
export type Framing = 'none' | 'length' | 'chunked' | 'close';

/** A parsed response head: status, header fields as node:http/undici shape them, framing, reuse. */
export interface ResponseHead {
  status: number;
  reason: string;
  /** Lower-case names; a repeated field becomes an array (undici's shape), values latin1 as on the wire. */
  headers: Record<string, string | string[]>;
  framing: Framing;
  contentLength: number;
  /** The upstream connection may carry another request after this response. */
  keepAlive: boolean;
  /** Keep-Alive: timeout=N from the upstream, in ms (0: none given). */
  keepAliveHintMs: number;
}

// field-name = token; field-value = visible chars, SP, HTAB, obs-text (RFC 9110 §5.1, §5.5). No CR/LF/NUL,
// no whitespace before the colon, no obs-fold (RFC 9112 §5.2: a proxy must reject or replace it; we reject).
const FIELD = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*/y;
const STATUS = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
// Field names most responses carry, as servers write them and in lower case, mapped to their lower-case form:
// no new string per field, and a key the headers object already knows (measured: ~16% of the parse).
const KNOWN_NAMES = new Map<string, string>();
for (const name of [
  'Server',
  'Date',
  'Content-Type',
  'Content-Length',
  'Connection',
  'Keep-Alive',
  'Transfer-Encoding',
  'Cache-Control',
  'ETag',
  'Last-Modified',
  'Vary',
  'Set-Cookie',
  'Location',
  'Content-Encoding',
  'Accept-Ranges',
  'Expires',
  'X-Powered-By',
  'Access-Control-Allow-Origin',
  'Access-Control-Allow-Credentials',
  'Strict-Transport-Security',
]) {
  KNOWN_NAMES.set(name, name.toLowerCase());
  KNOWN_NAMES.set(name.toLowerCase(), name.toLowerCase());
}
const DIGITS = /^\d{1,15}$/;
const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout\s*=\s*(\d{1,6})/i;

/**
 * Parses `text` (latin1, the head without its final CRLFCRLF). `method` decides HEAD's no-body rule.
 * Throws H1Error on anything malformed or ambiguous; a head with a bare LF anywhere is H1_ERR_BARE_LF.
 */
export function parseResponseHead(text: string, method: string): ResponseHead {
  try {
    return parseHead(text, method);
  } catch (err) {
    // A bare LF always breaks some line (no field or status line may hold one), so it is only looked for
    // once the head was refused, and reported as what it is whatever line failed first.
    if (/(^|[^\r])\n/.test(text)) throw new H1Error('H1_ERR_BARE_LF', 'bare LF in the response head');
    throw err;
  }
}

// The head line by line without splitting it: one regex per line, two slices per field (issue 13 item 2).
function parseHead(text: string, method: string): ResponseHead {
  const length = text.length;
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = length;
  const m = STATUS.exec(eol === length ? text : text.slice(0, eol));
  if (m === null) throw new H1Error('H1_ERR_BAD_STATUS', 'malformed status line');
  const status = Number(m[2]);
  const headers: Record<string, string | string[]> = {};
  let contentLength = -1;
  let te: string | undefined;
  let connection = '';
  let keepAliveHintMs = 0;
  for (let at = eol + 2; at <= length; at = eol + 2) {
    eol = text.indexOf('\r\n', at);
    if (eol < 0) eol = length;
    FIELD.lastIndex = at;
    // The sticky regex checks the whole line in place (token, colon, field-value chars) up to its CRLF.
    if (!FIELD.test(text) || FIELD.lastIndex !== eol) {
      throw new H1Error('H1_ERR_BAD_HEADER', 'malformed header field');
    }
    const colon = text.indexOf(':', at);
    const raw = text.slice(at, colon);
    const name = KNOWN_NAMES.get(raw) ?? raw.toLowerCase();
    const value = trimOws(text, colon + 1, eol);
    if (name === 'content-length') contentLength = mergeLength(contentLength, value);
    else if (name === 'transfer-encoding') te = te === undefined ? value : `${te}, ${value}`;
    else if (name === 'connection') connection = connection === '' ? value : `${connection}, ${value}`;
    else if (name === 'keep-alive') {
      const t = KEEP_ALIVE_TIMEOUT.exec(value);
      if (t !== null) keepAliveHintMs = Number(t[1]) * 1000;
    }
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (typeof prev === 'string') headers[name] = [prev, value];
    else prev.push(value);
  }
  const lowerConn = connection.toLowerCase();
  const keepAlive = m[1] === '1' ? !hasToken(lowerConn, 'close') : hasToken(lowerConn, 'keep-alive');
  const head: ResponseHead = {
    status,
    reason: m[3] ?? '',
    headers,
    framing: 'close',
    contentLength,
    keepAlive,
    keepAliveHintMs,
  };
  // Both present is the classic smuggling shape: refuse rather than let TE win (RFC 9112 §6.1, §11.2), even
  // where the message has no body, as llhttp does.
  if (te !== undefined && contentLength >= 0) {
    throw new H1Error('H1_ERR_CL_AND_TE', 'both Content-Length and Transfer-Encoding');
  }
  // HEAD, 1xx, 204 and 304 have no body whatever their fields say (RFC 9112 §6.3 rule 1). Their
  // Content-Length describes the representation. A server that sends a body anyway would desync the
  // connection, so after HEAD, or a 204/304 that announces a length or coding, it is not reused (undici
  // does the same for HEAD).
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) {
    head.framing = 'none';
    if (method === 'HEAD' || (status >= 200 && (contentLength > 0 || te !== undefined)))
      head.keepAlive = false;
    return head;
  }
  if (te !== undefined) {
    // chunked must be the final coding, applied once (RFC 9112 §6.1, §7); any other final coding means
    // read-until-close (§6.3 rule 4), which we relay but never reuse the connection after.
    const codings = te.toLowerCase().split(',');
    const last = (codings[codings.length - 1] as string).trim();
    if (last === 'chunked' && codings.length === 1) head.framing = 'chunked';
    else if (codings.some((c) => c.trim() === 'chunked')) {
      throw new H1Error('H1_ERR_BAD_TE', 'transfer codings besides chunked');
    } else head.keepAlive = false;
    return head;
  }
  if (contentLength >= 0) head.framing = contentLength === 0 ? 'none' : 'length';
  else head.keepAlive = false;
  return head;
}

/** Strips optional whitespace (SP, HTAB only: RFC 9110 §5.6.3) around a field value (`from` to `to`). */
function trimOws(line: string, from: number, to: number): string {
  let a = from;
  let b = to;
  while (a < b && (line.charCodeAt(a) === 0x20 || line.charCodeAt(a) === 0x09)) a++;
  while (b > a && (line.charCodeAt(b - 1) === 0x20 || line.charCodeAt(b - 1) === 0x09)) b--;
  return line.slice(a, b);
}

/**
 * Content-Length: one field of digits only. RFC 9110 §8.6 lets a recipient accept a repeated identical value;
 * we refuse any repetition (as llhttp does), since two framings of one message are what splitting needs.
 */
function mergeLength(seen: number, value: string): number {
  if (seen >= 0) throw new H1Error('H1_ERR_BAD_LENGTH', 'repeated Content-Length');
  if (!DIGITS.test(value)) throw new H1Error('H1_ERR_BAD_LENGTH', 'invalid Content-Length');
  return Number(value);
}

function hasToken(list: string, token: string): boolean {
  if (list === '' || list === token) return list === token;
  for (const t of list.split(',')) if (t.trim() === token) return true;
  return false;
}

const S = {
  SIZE: 0,
  EXT: 1,
  SIZE_LF: 2,
  DATA: 3,
  DATA_CR: 4,
  DATA_LF: 5,
  TRAILER_START: 6,
  TRAILER: 7,
  TRAILER_LF: 8,
  END_LF: 9,
  DONE: 10,
} as const;

const MAX_SIZE_DIGITS = 12; // < 2^48: stays an exact integer
const MAX_LINE = 4096; // chunk extensions and each trailer line

/**
 * Incremental chunked-body scanner (RFC 9112 §7.1). scan() reports the data bytes of each chunk to `onData`
 * and returns the offset after what belongs to the body. Extensions and trailers are validated and dropped.
 */
export class ChunkedScanner {
  #state: number = S.SIZE;
  #size = 0;
  #digits = 0;
  #line = 0;

  /** Ready for a new body. */
  reset(): void {
    this.#state = S.SIZE;
    this.#size = 0;
    this.#digits = 0;
    this.#line = 0;
  }

  /** The terminating chunk and trailer section were seen. */
  get done(): boolean {
    return this.#state === S.DONE;
  }

  /** Consumes from `buf[start..]`; returns the end offset of what belongs to this body. */
  scan(buf: Buffer, start: number, onData: (buf: Buffer, from: number, to: number) => void): number {
    let i = start;
    const n = buf.length;
    while (i < n) {
      const s = this.#state;
      if (s === S.DATA) {
        const take = Math.min(this.#size, n - i);
        onData(buf, i, i + take);
        i += take;
        this.#size -= take;
        if (this.#size === 0) this.#state = S.DATA_CR;
        continue;
      }
      if (s === S.DONE) return i;
      this.#step(buf[i] as number);
      i++;
    }
    return i;
  }

  #step(c: number): void {
    switch (this.#state) {
      case S.SIZE: {
        const h = hexValue(c);
        if (h >= 0) {
          if (++this.#digits > MAX_SIZE_DIGITS) throw bad('chunk size too long');
          this.#size = this.#size * 16 + h;
        } else if (this.#digits === 0) throw bad('missing chunk size');
        // BWS before the extension (RFC 9112 §7.1.1) is allowed; anything else after the digits is not.
        else if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) this.#state = S.EXT;
        else if (c === 0x0d) this.#state = S.SIZE_LF;
        else throw bad('invalid chunk size');
        return;
      }
      case S.EXT:
        if (c === 0x0d) this.#state = S.SIZE_LF;
        else if ((c < 0x20 && c !== 0x09) || c === 0x7f || ++this.#line > MAX_LINE)
          throw bad('invalid extension');
        return;
      case S.SIZE_LF:
        if (c !== 0x0a) throw bad('expected LF after chunk size');
        this.#line = 0;
        this.#digits = 0;
        this.#state = this.#size === 0 ? S.TRAILER_START : S.DATA;
        return;
      case S.DATA_CR:
        if (c !== 0x0d) throw bad('expected CR after chunk data');
        this.#state = S.DATA_LF;
        return;
      case S.DATA_LF:
        if (c !== 0x0a) throw bad('expected LF after chunk data');
        this.#state = S.SIZE;
        return;
      case S.TRAILER_START:
        if (c === 0x0d) this.#state = S.END_LF;
        else if (c === 0x20 || c === 0x09 || c < 0x20 || c === 0x3a) throw bad('invalid trailer line');
        else this.#state = S.TRAILER;
        return;
      case S.TRAILER:
        if (c === 0x0d) this.#state = S.TRAILER_LF;
        else if ((c < 0x20 && c !== 0x09) || ++this.#line > MAX_LINE) throw bad('invalid trailer line');
        return;
      case S.TRAILER_LF:
        if (c !== 0x0a) throw bad('expected LF after trailer');
        this.#line = 0;
        this.#state = S.TRAILER_START;
        return;
      case S.END_LF:
        if (c !== 0x0a) throw bad('expected LF after last chunk');
        this.#state = S.DONE;
        return;
    }
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function bad(message: string): H1Error {
  return new H1Error('H1_ERR_BAD_CHUNK', message);
}
