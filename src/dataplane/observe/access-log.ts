import pino, { type DestinationStream, type Logger } from 'pino';
import type { RequestRecord } from '../observer.ts';
import { ObserveError } from './errors.ts';

/** Options of the access log. */
export interface AccessLogOptions {
  /** Off: write() returns at once. */
  enabled?: boolean;
  /** Fraction of requests and tunnels logged, 0..1 (1 = all). */
  sample?: number;
  /**
   * Where lines go: a file descriptor or path (opened as an asynchronous pino destination), or a stream.
   * Default: stdout, asynchronous. Pass the process logger's destination to share one buffer on stdout.
   */
  destination?: number | string | DestinationStream;
  /** Source of randomness for sampling; Math.random by default. */
  random?: () => number;
}

/**
 * One JSON line per finished request and per closed tunnel, with HAProxy httplog's fields (client, time,
 * host, method, path without the query, status, bytes, connect / response / total timers, backend,
 * endpoint) plus affinity, retries and TLS. Serialised on the request's tick, written asynchronously.
 */
export class AccessLog {
  readonly enabled: boolean;
  readonly sample: number;
  #logger: Logger | undefined;
  #destination: (DestinationStream & { flushSync?: () => void; end?: () => void }) | undefined;
  #random: () => number;
  /** The destination this log opened itself, closed by close(). */
  #owned: ReturnType<typeof pino.destination> | undefined;

  constructor(options: AccessLogOptions = {}) {
    const sample = options.sample ?? 1;
    if (typeof sample !== 'number' || !(sample >= 0 && sample <= 1)) {
      throw new ObserveError(
        'STICKY_OBSERVE_BAD_OPTION',
        `access log sample must be within 0..1, got ${sample}`,
      );
    }
    this.sample = sample;
    this.enabled = options.enabled !== false && sample > 0;
    this.#random = options.random ?? Math.random;
    if (!this.enabled) return;
    const d = options.destination ?? 1;
    if (typeof d === 'number' || typeof d === 'string') {
      this.#owned = pino.destination({ dest: d, sync: false, mkdir: true });
      this.#destination = this.#owned;
    } else {
      this.#destination = d;
    }
    this.#logger = pino(
      {
        base: null,
        timestamp: false,
        // The line says what it is instead of carrying a level number.
        formatters: { level: () => ({ log: 'access' }) },
      },
      this.#destination,
    );
  }

  /** Logs `r` (subject to sampling). Reads the record synchronously; never keeps it. */
  write(r: RequestRecord): void {
    const logger = this.#logger;
    if (logger === undefined) return;
    if (this.sample < 1 && this.#random() >= this.sample) return;
    logger.info({
      time: new Date(r.startTime).toISOString(),
      client: r.clientAddress,
      host: r.host,
      method: r.method,
      path: r.path,
      status: r.status,
      bytesIn: r.bytesIn,
      bytesOut: r.bytesOut,
      connectMs: ms(r.connectMs),
      responseMs: ms(r.responseMs),
      totalMs: ms(r.totalMs),
      route: r.routeId,
      backend: r.backendId,
      endpoint: r.endpointId,
      source: r.sourceName === '' ? '' : `${r.sourceNamespace}/${r.sourceName}`,
      affinity: r.affinity,
      retries: r.retries,
      tls: r.tlsVersion,
      sni: r.sni,
      tunnel: r.tunnel,
    });
  }

  /** Writes out whatever is buffered, synchronously (before the process exits). */
  flushSync(): void {
    try {
      this.#destination?.flushSync?.();
    } catch {
      // Not open yet (nothing was written) or already closed: nothing to flush.
    }
  }

  /** Flushes and closes a destination this log opened (stdout stays open); a stream passed in is its owner's. */
  async close(): Promise<void> {
    const d = this.#owned;
    this.#logger = undefined;
    if (d === undefined) {
      this.flushSync();
      return;
    }
    this.#owned = undefined;
    await new Promise<void>((resolve) => {
      d.once('close', () => resolve());
      d.once('error', () => resolve());
      d.end();
    });
  }
}

/** Milliseconds to 3 decimals; -1 (not reached) stays -1. */
function ms(v: number): number {
  return v < 0 ? -1 : Math.round(v * 1000) / 1000;
}
