/**
 * Prototype (bench only): HTTP/1.1 response head parsing and chunked-body scanning for bench/lib/raw-client.ts.
 * Strict on purpose: anything ambiguous in the framing (RFC 9112 §6.3, §7.1) is an error, never a guess,
 * because a proxy that frames a response differently from its client is a response-splitting vector.
 */

/** Why a response was refused; stable codes in the style of undici's UND_ERR_*. */
export class RawParseError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** How the body of a response ends (RFC 9112 §6.3). */
export type Framing = 'none' | 'length' | 'chunked' | 'close';

/** A parsed response head: status, end-to-end header fields as a flat [name, value, ...] list, framing. */
export interface ResponseHead {
  status: number;
  reason: string;
  /** Hop-by-hop fields (RFC 9110 §7.6.1) and Content-Length/Transfer-Encoding removed. */
  headers: string[];
  framing: Framing;
  contentLength: number;
  /** The upstream connection may carry another request after this response. */
  keepAlive: boolean;
  /**
   * Nothing but `Connection: keep-alive` was dropped: the upstream's head bytes can be relayed verbatim to an
   * HTTP/1.1 keep-alive client (with Content-Length/Transfer-Encoding, which then frame both hops alike).
   */
  verbatim: boolean;
}

// field-name = token; field-value = visible chars, SP, HTAB, obs-text (RFC 9110 §5.1, §5.5). No bare CR/LF/NUL.
const FIELD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/;
const STATUS = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const DIGITS = /^\d{1,15}$/;

/**
 * Parses `text` (latin1, the head without its final CRLFCRLF). `method` decides HEAD's no-body rule.
 * Throws RawParseError on anything malformed or ambiguous.
 */
export function parseResponseHead(text: string, method: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = STATUS.exec(lines[0] as string);
  if (m === null) throw new RawParseError('RAW_BAD_STATUS', 'malformed status line');
  const minor = m[1] as string;
  const status = Number(m[2]);
  const headers: string[] = [];
  let contentLength = -1;
  let te: string | undefined;
  let connection = '';
  let verbatim = minorOk(m[1]);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    // Rejects obs-fold (a line starting with SP/HT), whitespace before the colon and bare CR/LF/NUL.
    if (!FIELD.test(line)) throw new RawParseError('RAW_BAD_HEADER', 'malformed header field');
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const lower = name.length >= 2 && name.length <= 17 ? name.toLowerCase() : '';
    if (lower === 'content-length') {
      contentLength = mergeLength(contentLength, value);
    } else if (lower === 'transfer-encoding') {
      te = te === undefined ? value : `${te}, ${value}`;
    } else if (lower === 'connection') {
      connection = connection === '' ? value.toLowerCase() : `${connection}, ${value.toLowerCase()}`;
    } else if (
      lower === 'keep-alive' ||
      lower === 'proxy-connection' ||
      lower === 'te' ||
      lower === 'upgrade'
    ) {
      verbatim = false; // hop-by-hop: never forwarded
    } else {
      headers.push(name, value);
    }
  }
  // Fast path: `keep-alive` / `close` alone name no other field.
  if (connection !== '' && connection !== 'keep-alive' && connection !== 'close') {
    stripConnectionOptions(headers, connection);
    verbatim = false;
  }
  if (connection === 'close') verbatim = false;
  const keepAlive = minor === '1' ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');
  const head = {
    status,
    reason: m[3] ?? '',
    headers,
    framing: 'close' as Framing,
    contentLength,
    keepAlive,
    verbatim,
  };
  // HEAD and 304 keep Content-Length: it describes the representation, not this message's body.
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) {
    head.framing = 'none';
    if (status < 200 || status === 204) head.contentLength = -1;
    return head;
  }
  if (te !== undefined) {
    // Both present is the classic smuggling shape: refuse rather than let TE win (RFC 9112 §6.1).
    if (contentLength >= 0)
      throw new RawParseError('RAW_CL_AND_TE', 'both Content-Length and Transfer-Encoding');
    // chunked must be the final coding; any other final coding means read-until-close (RFC 9112 §6.3 rule 4).
    const codings = te.toLowerCase().split(',');
    const last = (codings[codings.length - 1] as string).trim();
    if (last === 'chunked' && codings.length === 1) head.framing = 'chunked';
    else if (last === 'chunked') throw new RawParseError('RAW_BAD_TE', 'transfer codings besides chunked');
    else head.keepAlive = head.verbatim = false;
    return head;
  }
  if (contentLength >= 0) head.framing = contentLength === 0 ? 'none' : 'length';
  else head.keepAlive = head.verbatim = false;
  return head;
}

/** Content-Length: digits only; repeated or listed values must all agree (RFC 9110 §8.6). */
function mergeLength(seen: number, value: string): number {
  let n = seen;
  for (const part of value.split(',')) {
    const v = part.trim();
    if (!DIGITS.test(v)) throw new RawParseError('RAW_BAD_LENGTH', 'invalid Content-Length');
    const len = Number(v);
    if (n >= 0 && n !== len) throw new RawParseError('RAW_BAD_LENGTH', 'conflicting Content-Length values');
    n = len;
  }
  return n;
}

function minorOk(minor: string | undefined): boolean {
  return minor === '1';
}

function hasToken(list: string, token: string): boolean {
  if (list === '' || list === token) return list === token;
  for (const t of list.split(',')) if (t.trim() === token) return true;
  return false;
}

/** Fields named in Connection are hop-by-hop too (RFC 9110 §7.6.1). */
function stripConnectionOptions(headers: string[], connection: string): void {
  const names = new Set(connection.split(',').map((t) => t.trim()));
  names.delete('close');
  names.delete('keep-alive');
  if (names.size === 0) return;
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (names.has((headers[i] as string).toLowerCase())) headers.splice(i, 2);
  }
}

const enum_ = {
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
 * (start/end offsets into the buffer, for decoding) and returns how many bytes of `buf` belong to the body,
 * so the caller can also forward the raw framing unchanged. Trailers are validated and skipped.
 */
export class ChunkedScanner {
  #state: number = enum_.SIZE;
  #size = 0;
  #digits = 0;
  #line = 0;

  /** Ready for a new body. */
  reset(): void {
    this.#state = enum_.SIZE;
    this.#size = 0;
    this.#digits = 0;
    this.#line = 0;
  }

  /** The terminating chunk and trailer section were seen. */
  get done(): boolean {
    return this.#state === enum_.DONE;
  }

  /** Consumes from `buf[start..]`; returns the end offset of what belongs to this body. */
  scan(buf: Buffer, start: number, onData: (buf: Buffer, from: number, to: number) => void): number {
    let i = start;
    const n = buf.length;
    while (i < n) {
      const s = this.#state;
      if (s === enum_.DATA) {
        const take = Math.min(this.#size, n - i);
        onData(buf, i, i + take);
        i += take;
        this.#size -= take;
        if (this.#size === 0) this.#state = enum_.DATA_CR;
        continue;
      }
      if (s === enum_.DONE) return i;
      this.#step(buf[i] as number);
      i++;
    }
    return i;
  }

  #step(c: number): void {
    switch (this.#state) {
      case enum_.SIZE: {
        const h = hexValue(c);
        if (h >= 0) {
          if (++this.#digits > MAX_SIZE_DIGITS) throw bad('chunk size too long');
          this.#size = this.#size * 16 + h;
        } else if (this.#digits === 0) throw bad('missing chunk size');
        else if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) this.#state = enum_.EXT;
        else if (c === 0x0d) this.#state = enum_.SIZE_LF;
        else throw bad('invalid chunk size');
        return;
      }
      case enum_.EXT:
        if (c === 0x0d) this.#state = enum_.SIZE_LF;
        else if ((c < 0x20 && c !== 0x09) || c === 0x7f || ++this.#line > MAX_LINE)
          throw bad('invalid extension');
        return;
      case enum_.SIZE_LF:
        if (c !== 0x0a) throw bad('expected LF after chunk size');
        this.#line = 0;
        this.#digits = 0;
        this.#state = this.#size === 0 ? enum_.TRAILER_START : enum_.DATA;
        return;
      case enum_.DATA_CR:
        if (c !== 0x0d) throw bad('expected CR after chunk data');
        this.#state = enum_.DATA_LF;
        return;
      case enum_.DATA_LF:
        if (c !== 0x0a) throw bad('expected LF after chunk data');
        this.#state = enum_.SIZE;
        return;
      case enum_.TRAILER_START:
        if (c === 0x0d) this.#state = enum_.END_LF;
        else if (c === 0x20 || c === 0x09 || c < 0x20) throw bad('invalid trailer line');
        else this.#state = enum_.TRAILER;
        return;
      case enum_.TRAILER:
        if (c === 0x0d) this.#state = enum_.TRAILER_LF;
        else if ((c < 0x20 && c !== 0x09) || ++this.#line > MAX_LINE) throw bad('invalid trailer line');
        return;
      case enum_.TRAILER_LF:
        if (c !== 0x0a) throw bad('expected LF after trailer');
        this.#line = 0;
        this.#state = enum_.TRAILER_START;
        return;
      case enum_.END_LF:
        if (c !== 0x0a) throw bad('expected LF after last chunk');
        this.#state = enum_.DONE;
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

function bad(message: string): RawParseError {
  return new RawParseError('RAW_BAD_CHUNK', message);
}
