import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { MAX_HANDSHAKE_BYTES, sealHandshake } from '../upstream/affinity-sid.ts';

/**
 * Holds an engine.io polling handshake response (status 200, not content-encoded) until it ends, so its sid can
 * be sealed and Content-Length set to the new size. Chunked responses are handled (buffered whole); compressed
 * ones are refused up front (`accepts`) and pass through untouched, leaving that session to the cookie alone.
 */
export class HandshakeSeal {
  readonly status: number;
  readonly headers: string[];
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(status: number, headers: string[]) {
    this.status = status;
    this.headers = headers;
  }

  /** True when a handshake response with these upstream headers can be rewritten. */
  static accepts(status: number, headers: IncomingHttpHeaders): boolean {
    const encoding = headers['content-encoding'];
    return status === 200 && (encoding === undefined || encoding === 'identity');
  }

  /** Buffers a chunk; false once the body is larger than any real handshake (then flush it unchanged). */
  add(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    return this.#size <= MAX_HANDSHAKE_BYTES;
  }

  /** The buffered body as it was. */
  raw(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  /** Not a handshake after all (too large): writes the held head to `res`; returns the held body to send. */
  release(res: ServerResponse): Buffer {
    res.writeHead(this.status, this.headers);
    return this.raw();
  }

  /** The response ended: writes it to `res`, sealed by `sealer` when it is an open packet we understand. */
  end(res: ServerResponse, sealer: ((backendSid: string) => string) | undefined): void {
    const sealed = this.seal(sealer);
    res.writeHead(this.status, sealed.headers);
    res.end(sealed.body);
  }

  /** Headers and body to send: sealed when the body is an open packet we understand, else unchanged. */
  seal(sealer: ((backendSid: string) => string) | undefined): { headers: string[]; body: Buffer } {
    const raw = this.raw();
    const text = sealer === undefined ? undefined : sealHandshake(raw.toString('utf8'), sealer);
    if (text === undefined) return { headers: this.headers, body: raw };
    const body = Buffer.from(text, 'utf8');
    const headers: string[] = [];
    for (let i = 0; i < this.headers.length; i += 2) {
      const name = this.headers[i]!;
      if (name === 'content-length' || name === 'transfer-encoding') continue;
      headers.push(name, this.headers[i + 1]!);
    }
    headers.push('content-length', String(body.length));
    return { headers, body };
  }
}
