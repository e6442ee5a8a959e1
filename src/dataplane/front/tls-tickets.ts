import { hkdfSync } from 'node:crypto';
import type { Server as HttpsServer } from 'node:https';

/**
 * TLS session-ticket keys derived from the affinity key and the current time window (HKDF, RFC 5869): every
 * `--workers` process and every replica sharing the affinity key derive the same key for the same window, so
 * a ticket issued by one resumes on any other; the key changes every window, so a stolen key exposes at most
 * one window of recorded sessions (forward secrecy of resumed sessions, RFC 5077 section 5).
 */
export class TicketKeys {
  readonly #secret: Buffer;
  readonly #windowMs: number;
  readonly #clock: () => number;
  #servers = new Set<HttpsServer>();
  #timer: NodeJS.Timeout | undefined;
  #window = -1;

  /** `secret` >= 16 bytes (the affinity key); `windowMs` rotation period; `clock` for tests. */
  constructor(options: { secret: Buffer; windowMs: number; clock?: () => number }) {
    this.#secret = options.secret;
    this.#windowMs = options.windowMs;
    this.#clock = options.clock ?? Date.now;
  }

  /** The 48-byte key (name, HMAC key, AES key) of the window containing `now`. */
  keyAt(now: number): Buffer {
    const window = Math.floor(now / this.#windowMs);
    // Salt names the purpose, so this key can never equal anything else derived from the affinity key.
    return Buffer.from(
      hkdfSync('sha256', this.#secret, 'sticky-ingress tls session tickets', `window ${window}`, 48),
    );
  }

  /** Applies the current key to `server` now, after any setSecureContext(), and at every rotation. */
  attach(server: HttpsServer): void {
    this.#servers.add(server);
    server.setTicketKeys(this.keyAt(this.#clock()));
    this.#schedule();
  }

  /** Stops rotating (shutdown). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#servers.clear();
  }

  #schedule(): void {
    const now = this.#clock();
    const window = Math.floor(now / this.#windowMs);
    if (this.#timer !== undefined && window === this.#window) return;
    clearTimeout(this.#timer);
    this.#window = window;
    const key = this.keyAt(now);
    for (const s of this.#servers) s.setTicketKeys(key);
    const next = (window + 1) * this.#windowMs - now;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#schedule();
    }, next);
    this.#timer.unref();
  }
}
