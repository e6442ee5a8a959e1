import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { BadCertificateError } from '../../shared/errors.ts';
import type { Certificate, Snapshot } from '../../snapshot/index.ts';
import type { PemPair } from './self-signed.ts';

/** TLS settings every secure context shares (the server's own options carry ALPN). */
const TLS_MIN_VERSION = 'TLSv1.2';

/**
 * Mozilla's "intermediate" configuration (https://wiki.mozilla.org/Security/Server_Side_TLS, v5.7): TLS 1.3
 * suites, then TLS 1.2 with ECDHE and AEAD only (AES-GCM, ChaCha20-Poly1305). No CBC suite (Lucky13, padding
 * oracles), no static RSA key exchange, no DHE. The client's order is honoured, as the guideline says.
 */
const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

interface ListenerContexts {
  exact: Map<string, SecureContext>;
  wildcard: Map<string, SecureContext>;
  any: SecureContext | undefined;
}

/**
 * The certificates of the current snapshot as secure contexts, chosen per handshake by SNI: exact host, then
 * one-label wildcard, then the Gateway API listeners' certificates, then the default. Contexts are cached by certificate content hash, so an unchanged
 * certificate is not re-parsed on a swap and a renewed one is served from the next handshake on.
 */
export class TlsContexts {
  #logger: Logger;
  #fallback: PemPair;
  /** content hash -> context; pruned to what the current snapshot uses at every update. */
  #cache = new Map<string, SecureContext>();
  /** content hash -> rejection, so a bad certificate is logged once, not at every swap. */
  #rejected = new Map<string, BadCertificateError>();
  /** content hash by (frozen) Certificate object: an unchanged certificate is not hashed again at a swap. */
  #hashes = new WeakMap<Certificate, string>();
  #exact = new Map<string, SecureContext>();
  #wildcard = new Map<string, SecureContext>();
  /** Snapshot.listenerCertificates: exact names, `*.` suffixes (any number of labels) and `*`. */
  #listeners: ListenerContexts = { exact: new Map(), wildcard: new Map(), any: undefined };
  #default: SecureContext;
  #defaultPem: PemPair;

  /** `fallback` is the generated self-signed pair used when the snapshot has no (valid) default. */
  constructor(options: { logger: Logger; fallback: PemPair }) {
    this.#logger = options.logger;
    this.#fallback = options.fallback;
    this.#defaultPem = options.fallback;
    this.#default = createSecureContext(contextOptions(options.fallback));
  }

  /** The default pair, for the server's own options (handshakes without SNI use it). */
  get defaultPem(): PemPair {
    return this.#defaultPem;
  }

  /** Rebuilds the SNI maps for `snapshot`. Returns true when the default certificate changed. */
  update(snapshot: Snapshot): boolean {
    const byId = new Map<string, Certificate>();
    for (const c of snapshot.certificates) byId.set(c.id, c);
    const used = new Map<string, SecureContext>();
    const rejected = new Map<string, BadCertificateError>();
    const exact = new Map<string, SecureContext>();
    const wildcard = new Map<string, SecureContext>();
    for (const host of snapshot.hosts) {
      const id = host.tls?.certificate;
      if (id === undefined || host.hostname === '*') continue;
      const ctx = this.#context(id, byId.get(id), { used, rejected }, host.hostname);
      if (ctx === undefined) continue;
      const name = host.hostname.toLowerCase();
      if (name.startsWith('*.')) wildcard.set(name.slice(2), ctx);
      else exact.set(name, ctx);
    }
    const listeners: ListenerContexts = { exact: new Map(), wildcard: new Map(), any: undefined };
    for (const l of snapshot.listenerCertificates ?? []) {
      const ctx = this.#context(l.certificate, byId.get(l.certificate), { used, rejected }, l.hostname);
      if (ctx === undefined) continue;
      const name = l.hostname.toLowerCase();
      if (name === '*') listeners.any = ctx;
      else if (name.startsWith('*.')) listeners.wildcard.set(name.slice(2), ctx);
      else listeners.exact.set(name, ctx);
    }
    let defaultPem = this.#fallback;
    let defaultCtx: SecureContext | undefined;
    if (snapshot.defaultCertificate !== undefined) {
      const cert = byId.get(snapshot.defaultCertificate);
      defaultCtx = this.#context(snapshot.defaultCertificate, cert, { used, rejected }, 'default');
      if (defaultCtx !== undefined && cert !== undefined) defaultPem = cert;
    }
    const changed =
      defaultPem.certPem !== this.#defaultPem.certPem || defaultPem.keyPem !== this.#defaultPem.keyPem;
    if (changed) this.#default = defaultCtx ?? createSecureContext(contextOptions(defaultPem));
    this.#defaultPem = defaultPem;
    this.#exact = exact;
    this.#wildcard = wildcard;
    this.#listeners = listeners;
    this.#cache = used;
    this.#rejected = rejected;
    return changed;
  }

  /** The context for a client's SNI name (any case, may be undefined). */
  select(servername: string | undefined): SecureContext {
    if (!servername) return this.#default;
    const name = servername.toLowerCase();
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    let dot = name.indexOf('.');
    if (dot > 0) {
      const wild = this.#wildcard.get(name.slice(dot + 1));
      if (wild !== undefined) return wild;
    }
    // Gateway API HTTPS listeners: the listener whose hostname matches the SNI name most specifically
    // (exact, then the longest `*.` suffix, any number of labels), then one without hostname.
    const l = this.#listeners;
    if (l.exact.size > 0 || l.wildcard.size > 0) {
      const exactListener = l.exact.get(name);
      if (exactListener !== undefined) return exactListener;
      for (; dot > 0; dot = name.indexOf('.', dot + 1)) {
        const wild = l.wildcard.get(name.slice(dot + 1));
        if (wild !== undefined) return wild;
      }
    }
    return l.any ?? this.#default;
  }

  /** node's SNICallback, bound once. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    cb(null, this.select(servername));
  };

  #context(
    id: string,
    cert: Certificate | undefined,
    seen: { used: Map<string, SecureContext>; rejected: Map<string, BadCertificateError> },
    host: string,
  ): SecureContext | undefined {
    if (cert === undefined) {
      this.#logger.warn(
        { certificate: id, host },
        'certificate %s not in snapshot; host %s gets the default',
        id,
        host,
      );
      return undefined;
    }
    const { used, rejected } = seen;
    let key = this.#hashes.get(cert);
    if (key === undefined) {
      key = contentHash(cert);
      if (Object.isFrozen(cert)) this.#hashes.set(cert, key);
    }
    const cached = used.get(key) ?? this.#cache.get(key);
    if (cached !== undefined) {
      used.set(key, cached);
      return cached;
    }
    const known = rejected.get(key) ?? this.#rejected.get(key);
    if (known !== undefined) {
      rejected.set(key, known);
      return undefined;
    }
    try {
      const ctx = createSecureContext(contextOptions(cert));
      used.set(key, ctx);
      return ctx;
    } catch (err) {
      const bad = new BadCertificateError(id, err);
      rejected.set(key, bad);
      this.#logger.error(
        { certificate: id, host, code: bad.code },
        `${bad.message}; host ${host} gets the default`,
      );
      return undefined;
    }
  }
}

/** Secure-context options for a certificate pair: TLS 1.2 minimum, the intermediate cipher list. */
export function contextOptions(pem: PemPair): {
  cert: string;
  key: string;
  minVersion: 'TLSv1.2';
  ciphers: string;
} {
  return { cert: pem.certPem, key: pem.keyPem, minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS };
}

function contentHash(c: Certificate): string {
  return createHash('sha256').update(c.certPem).update('\0').update(c.keyPem).digest('hex');
}
