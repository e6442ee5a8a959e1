/**
 * An incremental reader of the server name (SNI, RFC 6066 section 3) in a TLS ClientHello as it arrives on a raw
 * socket: the handshake message may be cut across TCP segments and split over several TLS records (RFC 8446
 * section 5.1 allows handshake messages to span records). Bounded: at most MAX_HELLO bytes of handshake message
 * and MAX_BUFFERED bytes of records are read; anything else is `none` (no usable SNI) or `malformed`, and the
 * caller hands the bytes to the terminating TLS server, which answers as it always does.
 */

/** Largest ClientHello accepted (post-quantum key shares make hellos of ~2 KiB; 16 KiB leaves room). */
export const MAX_HELLO = 16_384;
/** Record bytes buffered while looking for the end of the hello (headers of several small records included). */
const MAX_BUFFERED = MAX_HELLO + 4_096;

/** One push's outcome. `sni` is lower-case; `none`: a well-formed hello without a host_name. */
export type HelloStep =
  | { readonly state: 'more' }
  | { readonly state: 'sni'; readonly name: string }
  | { readonly state: 'none' }
  | { readonly state: 'malformed' };

const MORE: HelloStep = { state: 'more' };
const NONE: HelloStep = { state: 'none' };
const MALFORMED: HelloStep = { state: 'malformed' };

/**
 * Reads one connection's first bytes (the caller keeps them to replay). Linear in the bytes received: bytes are
 * joined only when a whole record (or the whole hello) is there, however finely the sender slices them.
 */
export class ClientHelloReader {
  #pending: Buffer[] = [];
  #pendingLength = 0;
  /** Payload length of the record being received, once its 5-byte header is in; -1 before. */
  #recordLength = -1;
  #handshake: Buffer[] = [];
  #handshakeLength = 0;
  /** Length of the ClientHello body, once its 4-byte handshake header is in; -1 before. */
  #helloLength = -1;
  #received = 0;

  /** Feeds the next bytes; returns `more` until the hello's SNI is known or the bytes are not a hello. */
  push(chunk: Buffer): HelloStep {
    this.#received += chunk.length;
    if (this.#received > MAX_BUFFERED) return MALFORMED;
    this.#pending.push(chunk);
    this.#pendingLength += chunk.length;
    // Bounded: each turn consumes one whole record of at least 6 bytes.
    for (;;) {
      if (this.#recordLength < 0) {
        if (this.#pendingLength < 5) return this.#firstBytesOk() ? MORE : MALFORMED;
        const head = this.#take(5);
        if (head[0] !== 22 || head[1] !== 3) return MALFORMED;
        this.#recordLength = head.readUInt16BE(3);
        if (this.#recordLength === 0 || this.#recordLength > 16_384) return MALFORMED;
      }
      if (this.#pendingLength < this.#recordLength) return MORE;
      const payload = this.#take(this.#recordLength);
      this.#recordLength = -1;
      this.#handshake.push(payload);
      this.#handshakeLength += payload.length;
      const step = this.#check();
      if (step.state !== 'more') return step;
    }
  }

  /** Fewer than 5 bytes so far: refuse early what cannot start a TLS handshake record. */
  #firstBytesOk(): boolean {
    const p = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending);
    return (p.length < 1 || p[0] === 22) && (p.length < 2 || p[1] === 3);
  }

  /** Removes and returns the first `n` pending bytes (n <= pendingLength). */
  #take(n: number): Buffer {
    const all = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending);
    this.#pending = all.length > n ? [all.subarray(n)] : [];
    this.#pendingLength = all.length - n;
    return all.subarray(0, n);
  }

  #check(): HelloStep {
    if (this.#handshakeLength < 4) return MORE;
    if (this.#helloLength < 0) {
      const hs = Buffer.concat(this.#handshake);
      this.#handshake = [hs];
      if (hs[0] !== 1) return MALFORMED;
      this.#helloLength = hs.readUIntBE(1, 3);
      if (this.#helloLength > MAX_HELLO) return MALFORMED;
    }
    if (this.#handshakeLength < 4 + this.#helloLength) return MORE;
    const hs = Buffer.concat(this.#handshake);
    return serverName(hs.subarray(4, 4 + this.#helloLength));
  }
}

/** The host_name of a ClientHello body (RFC 8446 4.1.2 layout; TLS 1.2 is the same up to the extensions). */
function serverName(hello: Buffer): HelloStep {
  let at = 2 + 32; // legacy_version, random
  if (at + 1 > hello.length) return MALFORMED;
  at += 1 + (hello[at] as number); // legacy_session_id
  if (at + 2 > hello.length) return MALFORMED;
  at += 2 + hello.readUInt16BE(at); // cipher_suites
  if (at + 1 > hello.length) return MALFORMED;
  at += 1 + (hello[at] as number); // legacy_compression_methods
  if (at === hello.length) return NONE; // no extensions at all (old clients)
  if (at + 2 > hello.length) return MALFORMED;
  const end = at + 2 + hello.readUInt16BE(at);
  if (end > hello.length) return MALFORMED;
  at += 2;
  // Bounded: each turn advances at least 4 bytes within the hello.
  while (at + 4 <= end) {
    const type = hello.readUInt16BE(at);
    const len = hello.readUInt16BE(at + 2);
    at += 4;
    if (at + len > end) return MALFORMED;
    if (type === 0) return hostName(hello.subarray(at, at + len));
    at += len;
  }
  return at === end ? NONE : MALFORMED;
}

/** RFC 6066 3: ServerNameList; the host_name entry (type 0) is an ASCII DNS name without a trailing dot. */
function hostName(ext: Buffer): HelloStep {
  if (ext.length < 2 || ext.readUInt16BE(0) !== ext.length - 2) return MALFORMED;
  let at = 2;
  while (at + 3 <= ext.length) {
    const type = ext[at] as number;
    const len = ext.readUInt16BE(at + 1);
    at += 3;
    if (at + len > ext.length) return MALFORMED;
    if (type === 0) {
      const name = ext.toString('latin1', at, at + len).toLowerCase();
      return /^[a-z0-9.-]{1,253}$/.test(name) ? { state: 'sni', name } : MALFORMED;
    }
    at += len;
  }
  return NONE;
}
