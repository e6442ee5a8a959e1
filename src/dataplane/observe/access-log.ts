import pino, { type DestinationStream } from 'pino';
import { InvalidOptionError } from '../../shared/errors.ts';
import type { RequestRecord } from './observer.ts';

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
 * Lines are handed to the destination in batches of about this size, or FLUSH_MS after the first pending
 * line (nginx's `access_log ... buffer= flush=`): each destination write is an fs.write through the thread
 * pool, which costs several µs, far more than a line.
 */
const FLUSH_CHARS = 32 * 1024;
const FLUSH_MS = 25;

/**
 * One JSON line per finished request and per closed tunnel, with HAProxy httplog's fields (client, time,
 * host, method, path without the query, status, bytes, connect / response / total timers, backend,
 * endpoint) plus affinity, retries and TLS. Serialised on the request's tick by a fixed template (no
 * intermediate object), collected, and handed to the asynchronous destination once per event-loop turn.
 */
export class AccessLog {
  readonly enabled: boolean;
  readonly sample: number;
  #destination: (DestinationStream & { flushSync?: () => void; end?: () => void }) | undefined;
  #random: () => number;
  /** The destination this log opened itself, closed by close(). */
  #owned: ReturnType<typeof pino.destination> | undefined;
  #pending = '';
  #timer: NodeJS.Timeout | undefined;
  #flushNow = (): void => this.#flush();
  /** `2026-01-02T03:04:05.` for the second #second (epoch seconds): Date formatting once per second. */
  #second = -1;
  #secondPrefix = '';
  // Fields that repeat from line to line (one route, one backend, one host...): their JSON literal is kept,
  // so a repeated value costs a comparison instead of an escape check and a new string (issue 13).
  #route = new JsonMemo();
  #backend = new JsonMemo();
  #endpoint = new JsonMemo();
  #host = new JsonMemo();
  #method = new JsonMemo();
  #tls = new JsonMemo();
  #sni = new JsonMemo();
  #sourceNs = '';
  #sourceName = '';
  #source = '""';

  constructor(options: AccessLogOptions = {}) {
    const sample = options.sample ?? 1;
    if (typeof sample !== 'number' || !(sample >= 0 && sample <= 1)) {
      throw new InvalidOptionError('access log', 'sample', `expected a number within 0..1, got ${sample}`);
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
  }

  /** Logs `r` (subject to sampling). Reads the record synchronously; never keeps it. */
  write(r: RequestRecord): void {
    if (this.#destination === undefined) return;
    if (this.sample < 1 && this.#random() >= this.sample) return;
    // Same keys and order as the pino line this replaced ({"log":"access", then the fields}).
    this.#pending +=
      `{"log":"access","time":"${this.#time(r.startTime)}","client":${str(r.clientAddress)},` +
      `"host":${this.#host.json(r.host)},"method":${this.#method.json(r.method)},"path":${str(r.path)},` +
      `"status":${r.status},"bytesIn":${r.bytesIn},"bytesOut":${r.bytesOut},"connectMs":${ms(r.connectMs)},` +
      `"responseMs":${ms(r.responseMs)},"totalMs":${ms(r.totalMs)},"route":${this.#route.json(r.routeId)},` +
      `"backend":${this.#backend.json(r.backendId)},"endpoint":${this.#endpoint.json(r.endpointId)},` +
      `"source":${this.#sourceJson(r.sourceNamespace, r.sourceName)},"affinity":"${r.affinity}",` +
      `"retries":${r.retries},"tls":${this.#tls.json(r.tlsVersion)},"sni":${this.#sni.json(r.sni)},` +
      `"tunnel":${r.tunnel},"proto":"${r.protocol}"}\n`;
    if (this.#pending.length >= FLUSH_CHARS) this.#flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#flushNow, FLUSH_MS);
      // close() and flushSync() write what is pending; the timer alone must not hold the process open.
      this.#timer.unref();
    }
  }

  /** Writes out whatever is buffered, synchronously (before the process exits). */
  flushSync(): void {
    this.#flush();
    try {
      this.#destination?.flushSync?.();
    } catch {
      // Not open yet (nothing was written) or already closed: nothing to flush.
    }
  }

  /** Flushes and closes a destination this log opened (stdout stays open); a stream passed in is its owner's. */
  async close(): Promise<void> {
    const d = this.#owned;
    if (d === undefined) {
      this.flushSync();
      this.#destination = undefined;
      return;
    }
    this.#flush();
    this.#destination = undefined;
    this.#owned = undefined;
    await new Promise<void>((resolve) => {
      d.once('close', () => resolve());
      d.once('error', () => resolve());
      d.end();
    });
  }

  #flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const lines = this.#pending;
    if (lines === '') return;
    this.#pending = '';
    this.#destination?.write(lines);
  }

  /** `namespace/name` of the record's source as a JSON string ('' when none), kept while it repeats. */
  #sourceJson(namespace: string, name: string): string {
    if (name !== this.#sourceName || namespace !== this.#sourceNs) {
      this.#sourceNs = namespace;
      this.#sourceName = name;
      this.#source = name === '' ? '""' : str(`${namespace}/${name}`);
    }
    return this.#source;
  }

  /** ISO 8601 UTC with milliseconds, as Date#toISOString. */
  #time(epochMs: number): string {
    const t = Math.floor(epochMs);
    const second = Math.floor(t / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#secondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    }
    const milli = t - second * 1000;
    return `${this.#secondPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  }
}

// What JSON must escape (quote, backslash, controls) plus lone surrogates, which JSON.stringify escapes too.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON escapes.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The JSON literal of the last value seen, rebuilt only when the value changes. */
class JsonMemo {
  #value = '';
  #json = '""';

  /** `s` as a JSON string literal. */
  json(s: string): string {
    if (s !== this.#value) {
      this.#value = s;
      this.#json = str(s);
    }
    return this.#json;
  }
}

/** A JSON string literal; the common case (nothing to escape) skips JSON.stringify. */
function str(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * Milliseconds to 3 decimals (as String(Math.round(v * 1000) / 1000), by integer formatting, which is much
 * cheaper than the shortest-float algorithm); -1 (not reached) stays -1.
 */
function ms(v: number): string {
  if (v < 0) return '-1';
  const us = Math.round(v * 1000);
  if (!Number.isSafeInteger(us)) return Number.isFinite(v) ? String(us / 1000) : 'null';
  const whole = Math.floor(us / 1000);
  const frac = us - whole * 1000;
  if (frac === 0) return `${whole}`;
  if (frac % 100 === 0) return `${whole}.${frac / 100}`;
  if (frac % 10 === 0) return `${whole}.${frac < 100 ? '0' : ''}${frac / 10}`;
  return `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}
