import { randomFillSync } from 'node:crypto';

/**
 * RFC 6455 section 5.2 frame boundaries, followed incrementally on a relayed byte stream. Only the 2-14 header
 * bytes are read; payloads are counted down, never buffered, so a hostile 2^63-byte length costs nothing but a
 * frame that never ends (the shutdown grace then destroys the tunnel).
 */

/** Close frame opcode (RFC 6455 5.5.1). */
const OPCODE_CLOSE = 0x8;
/** Longest header: 2 bytes, 8 bytes of extended length, 4 bytes of masking key (RFC 6455 5.2). */
const MAX_HEADER = 14;

/** Where one direction of a WebSocket stream is: inside a frame's payload, inside a header, or between frames. */
export class FrameCursor {
  /** Payload bytes of the current frame still to come. */
  left = 0;
  /** A header split across reads (at most 14 bytes), copied out of the chunk; undefined otherwise. */
  head: Buffer | undefined = undefined;
  /** A close frame's header went by on this stream. */
  closeSeen = false;

  /** True between two frames: no payload pending and no partial header. */
  get atBoundary(): boolean {
    return this.left === 0 && this.head === undefined;
  }

  /**
   * Follows `chunk` from offset `from`. With `stop`, returns the offset of the first frame boundary at or after
   * `from` (the chunk's length when the frame in flight goes on past it); without, always the chunk's length.
   */
  advance(chunk: Buffer, from: number, stop: boolean): number {
    let at = from;
    for (;;) {
      if (this.left > 0) {
        const n = Math.min(this.left, chunk.length - at);
        // A length above 2^53 is not exact: it simply never reaches 0, which is what such a frame deserves.
        this.left -= n;
        at += n;
        if (this.left > 0) return at;
      }
      if (stop && this.head === undefined) return at;
      if (at >= chunk.length) return at;
      at = this.#header(chunk, at);
    }
  }

  /** Reads one header starting at `at` (continuing a stashed partial one); returns the offset after it. */
  #header(chunk: Buffer, at: number): number {
    const prior = this.head?.length ?? 0;
    const buf =
      this.head === undefined
        ? chunk
        : Buffer.concat([this.head, chunk.subarray(at, at + MAX_HEADER - prior)]);
    const off = this.head === undefined ? at : 0;
    const avail = buf.length - off;
    if (avail >= 2) {
      const b1 = buf[off + 1] as number;
      const len7 = b1 & 0x7f;
      const size = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      if (avail >= size) {
        if (((buf[off] as number) & 0x0f) === OPCODE_CLOSE) this.closeSeen = true;
        this.left =
          len7 < 126
            ? len7
            : len7 === 126
              ? buf.readUInt16BE(off + 2)
              : buf.readUInt32BE(off + 2) * 2 ** 32 + buf.readUInt32BE(off + 6);
        this.head = undefined;
        return at + size - prior;
      }
    }
    // Copied into its own small allocation: a view would keep the whole (pooled, 64 KiB) read buffer alive.
    const part = Buffer.allocUnsafeSlow(avail);
    buf.copy(part, 0, off);
    this.head = part;
    return chunk.length;
  }
}

/**
 * A close frame with `code` (RFC 6455 5.5.1, 7.4.1) and a short reason; `masked` for frames a client sends (to
 * a backend, where we are the client), unmasked for frames a server sends (RFC 6455 5.1).
 */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const text = Buffer.from(reason);
  // Control frame payloads are at most 125 bytes (RFC 6455 5.5): code (2) + reason.
  const len = 2 + Math.min(text.length, 123);
  const frame = Buffer.allocUnsafe(2 + (masked ? 4 : 0) + len);
  frame[0] = 0x80 | OPCODE_CLOSE;
  frame[1] = (masked ? 0x80 : 0) | len;
  const start = masked ? 6 : 2;
  frame.writeUInt16BE(code, start);
  text.copy(frame, start + 2, 0, len - 2);
  if (masked) {
    // RFC 6455 5.3: a fresh unpredictable masking key per frame.
    randomFillSync(frame, 2, 4);
    for (let i = 0; i < len; i += 1)
      frame[start + i] = (frame[start + i] as number) ^ (frame[2 + (i % 4)] as number);
  }
  return frame;
}
