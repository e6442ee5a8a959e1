import { createHash } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { BadCertificateError } from '../../shared/errors.ts';
import type { Certificate, ListenerCertificate, Snapshot, VirtualHost } from '../../snapshot/index.ts';
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

/** One context (or rejection) by certificate content hash, and how many hosts, listeners and the default use it. */
interface Keyed {
  readonly ctx: SecureContext | undefined;
  uses: number;
}

/** What one TLS host of the snapshot resolved to. */
interface HostEntry {
  readonly certificate: string;
  readonly key: string | undefined;
  readonly ctx: SecureContext | undefined;
}

/** What a list of the snapshot gained and lost, by object identity (a replacement is in both). */
export interface TlsChange<T> {
  readonly removed: readonly T[];
  readonly added: readonly T[];
}

/**
 * The certificates of the current snapshot as secure contexts, chosen per handshake by SNI: exact host, then
 * one-label wildcard, then the Gateway API listeners' certificates, then the default. Contexts are cached by
 * certificate content hash (counted by use), so an unchanged certificate is not re-parsed on a swap and a
 * renewed one is served from the next handshake on.
 */
export class TlsContexts {
  #logger: Logger;
  #fallback: PemPair;
  /** content hash -> context or rejection (logged once, not at every swap), while something uses it. */
  #keys = new Map<string, Keyed>();
  /** content hash by (frozen) Certificate object: an unchanged certificate is not hashed again at a swap. */
  #hashes = new WeakMap<Certificate, string>();
  /** The snapshot's certificates by id, the TLS hosts' entries, and the hosts naming each certificate id. */
  #certs = new Map<string, Certificate>();
  #hosts = new Map<VirtualHost, HostEntry>();
  #byCert = new Map<string, Set<VirtualHost>>();
  #exact = new Map<string, SecureContext>();
  #wildcard = new Map<string, SecureContext>();
  /** Snapshot.listenerCertificates: exact names, `*.` suffixes (any number of labels) and `*`. */
  #listeners: ListenerContexts = { exact: new Map(), wildcard: new Map(), any: undefined };
  #listenerList: readonly ListenerCertificate[] | undefined;
  #listenerKeys: string[] = [];
  #default: SecureContext;
  #defaultPem: PemPair;
  #defaultId: string | undefined;
  #defaultKey: string | undefined;

  /**
   * The key-exchange groups (`--tls-groups`); undefined: OpenSSL's default list. What a handshake offers comes
   * from the listener's own context (OpenSSL keeps it across the SNI switch, tls-groups.test.ts); every
   * context carries it too, so no path depends on that.
   */
  readonly groups: string | undefined;

  /** `fallback` is the generated self-signed pair used when the snapshot has no (valid) default. */
  constructor(options: { logger: Logger; fallback: PemPair; groups?: string | undefined }) {
    this.#logger = options.logger;
    this.#fallback = options.fallback;
    this.#defaultPem = options.fallback;
    this.groups = options.groups;
    this.#default = createSecureContext(contextOptions(options.fallback, this.groups));
  }

  /** The default pair, for the server's own options (handshakes without SNI use it). */
  get defaultPem(): PemPair {
    return this.#defaultPem;
  }

  /** Rebuilds the SNI maps for `snapshot`, every host. Returns true when the default certificate changed. */
  update(snapshot: Snapshot): boolean {
    const released = [...this.#listenerKeys];
    for (const entry of this.#hosts.values()) if (entry.key !== undefined) released.push(entry.key);
    if (this.#defaultKey !== undefined) released.push(this.#defaultKey);
    this.#certs = new Map(snapshot.certificates.map((c) => [c.id, c]));
    this.#hosts = new Map();
    this.#byCert = new Map();
    this.#exact = new Map();
    this.#wildcard = new Map();
    for (const host of snapshot.hosts) this.#attach(host);
    this.#setListeners(snapshot.listenerCertificates);
    this.#defaultKey = undefined;
    const changed = this.#setDefault(snapshot.defaultCertificate);
    this.#release(released);
    return changed;
  }

  /**
   * update() for what changed only (issue 13 item 3): `snapshot` differs from the last one by `hosts` and
   * `certificates` (by identity; a certificate rotated under its id is in both lists). Contexts are made for
   * new certificates only, and only the hosts that came, went or name a changed certificate are re-resolved.
   * Same result as update().
   */
  patch(snapshot: Snapshot, hosts: TlsChange<VirtualHost>, certificates: TlsChange<Certificate>): boolean {
    const changedIds = new Set<string>();
    for (const c of certificates.removed) {
      this.#certs.delete(c.id);
      changedIds.add(c.id);
    }
    for (const c of certificates.added) {
      this.#certs.set(c.id, c);
      changedIds.add(c.id);
    }
    const gone = new Set(hosts.removed);
    const again = new Set<VirtualHost>();
    for (const id of changedIds) for (const h of this.#byCert.get(id) ?? []) if (!gone.has(h)) again.add(h);
    const released: string[] = [];
    // Every host leaves its names before any arrives: a host replaced under its name keeps it.
    for (const h of gone) this.#detach(h, released);
    for (const h of again) this.#detach(h, released);
    for (const h of hosts.added) this.#attach(h);
    for (const h of again) this.#attach(h);
    const listeners = snapshot.listenerCertificates;
    if (listeners !== this.#listenerList || listeners?.some((l) => changedIds.has(l.certificate))) {
      released.push(...this.#listenerKeys);
      this.#setListeners(listeners);
    }
    let changed = false;
    const id = snapshot.defaultCertificate;
    if (id !== this.#defaultId || (id !== undefined && changedIds.has(id))) {
      if (this.#defaultKey !== undefined) released.push(this.#defaultKey);
      this.#defaultKey = undefined;
      changed = this.#setDefault(id);
    }
    this.#release(released);
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

  // A TLS host (not `*`, which only the default serves) takes its certificate's context under its name.
  #attach(host: VirtualHost): void {
    const id = host.tls?.certificate;
    if (id === undefined || host.hostname === '*') return;
    const got = this.#acquire(id, host.hostname);
    this.#hosts.set(host, { certificate: id, key: got?.key, ctx: got?.ctx });
    const hosts = this.#byCert.get(id);
    if (hosts === undefined) this.#byCert.set(id, new Set([host]));
    else hosts.add(host);
    if (got?.ctx === undefined) return;
    const name = host.hostname.toLowerCase();
    if (name.startsWith('*.')) this.#wildcard.set(name.slice(2), got.ctx);
    else this.#exact.set(name, got.ctx);
  }

  #detach(host: VirtualHost, released: string[]): void {
    const entry = this.#hosts.get(host);
    if (entry === undefined) return;
    this.#hosts.delete(host);
    const hosts = this.#byCert.get(entry.certificate);
    hosts?.delete(host);
    if (hosts?.size === 0) this.#byCert.delete(entry.certificate);
    if (entry.key !== undefined) released.push(entry.key);
    if (entry.ctx === undefined) return;
    const name = host.hostname.toLowerCase();
    const map = name.startsWith('*.') ? this.#wildcard : this.#exact;
    const key = name.startsWith('*.') ? name.slice(2) : name;
    if (map.get(key) === entry.ctx) map.delete(key);
  }

  #setListeners(list: readonly ListenerCertificate[] | undefined): void {
    const listeners: ListenerContexts = { exact: new Map(), wildcard: new Map(), any: undefined };
    const keys: string[] = [];
    for (const l of list ?? []) {
      const got = this.#acquire(l.certificate, l.hostname);
      if (got === undefined) continue;
      keys.push(got.key);
      if (got.ctx === undefined) continue;
      const name = l.hostname.toLowerCase();
      if (name === '*') listeners.any = got.ctx;
      else if (name.startsWith('*.')) listeners.wildcard.set(name.slice(2), got.ctx);
      else listeners.exact.set(name, got.ctx);
    }
    this.#listeners = listeners;
    this.#listenerList = list;
    this.#listenerKeys = keys;
  }

  // Returns true when the default pair changed (the server's own options must follow).
  #setDefault(id: string | undefined): boolean {
    let defaultPem = this.#fallback;
    let defaultCtx: SecureContext | undefined;
    if (id !== undefined) {
      const cert = this.#certs.get(id);
      const got = this.#acquire(id, 'default');
      this.#defaultKey = got?.key;
      defaultCtx = got?.ctx;
      if (defaultCtx !== undefined && cert !== undefined) defaultPem = cert;
    }
    this.#defaultId = id;
    const changed =
      defaultPem.certPem !== this.#defaultPem.certPem || defaultPem.keyPem !== this.#defaultPem.keyPem;
    if (changed) this.#default = defaultCtx ?? createSecureContext(contextOptions(defaultPem, this.groups));
    this.#defaultPem = defaultPem;
    return changed;
  }

  // The context of certificate `id` for `host` (logged when missing or refused), counted as one more use.
  #acquire(id: string, host: string): { key: string; ctx: SecureContext | undefined } | undefined {
    const cert = this.#certs.get(id);
    if (cert === undefined) {
      this.#logger.warn(
        { certificate: id, host },
        'certificate %s not in snapshot; host %s gets the default',
        id,
        host,
      );
      return undefined;
    }
    let key = this.#hashes.get(cert);
    if (key === undefined) {
      key = contentHash(cert);
      if (Object.isFrozen(cert)) this.#hashes.set(cert, key);
    }
    let keyed = this.#keys.get(key);
    if (keyed === undefined) {
      keyed = { ctx: this.#create(id, cert, host), uses: 0 };
      this.#keys.set(key, keyed);
    }
    keyed.uses++;
    return { key, ctx: keyed.ctx };
  }

  #create(id: string, cert: Certificate, host: string): SecureContext | undefined {
    try {
      return createSecureContext(contextOptions(cert, this.groups));
    } catch (err) {
      const bad = new BadCertificateError(id, err);
      this.#logger.error(
        { certificate: id, host, code: bad.code },
        `${bad.message}; host ${host} gets the default`,
      );
      return undefined;
    }
  }

  // After the new uses were counted: a context (or rejection) nothing uses any more is dropped.
  #release(keys: readonly string[]): void {
    for (const key of keys) {
      const keyed = this.#keys.get(key);
      if (keyed === undefined) continue;
      keyed.uses--;
      if (keyed.uses <= 0) this.#keys.delete(key);
    }
  }
}

/**
 * Secure-context options for a certificate pair: TLS 1.2 minimum, the intermediate cipher list, and with `groups`
 * the key-exchange groups offered instead of OpenSSL's default (whose first is the post-quantum hybrid
 * X25519MLKEM768).
 */
export function contextOptions(
  pem: PemPair,
  groups?: string,
): {
  cert: string;
  key: string;
  minVersion: 'TLSv1.2';
  ciphers: string;
  ecdhCurve?: string;
} {
  const base = {
    cert: pem.certPem,
    key: pem.keyPem,
    minVersion: TLS_MIN_VERSION,
    ciphers: TLS_CIPHERS,
  } as const;
  return groups === undefined ? base : { ...base, ecdhCurve: groups };
}

/**
 * Why `groups` cannot be the `--tls-groups` list, or undefined when OpenSSL accepts it: a colon-separated list of
 * group names (X25519MLKEM768, X25519, P-256, P-384...), each known to this OpenSSL.
 */
export function tlsGroupsProblem(groups: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+(:[A-Za-z0-9_-]+)*$/.test(groups)) {
    return 'expected group names separated by colons, e.g. X25519MLKEM768:X25519:P-256';
  }
  try {
    createSecureContext({ ecdhCurve: groups });
    return undefined;
  } catch {
    return `OpenSSL ${process.versions.openssl} knows no such group list: ${groups}`;
  }
}

function contentHash(c: Certificate): string {
  return createHash('sha256').update(c.certPem).update('\0').update(c.keyPem).digest('hex');
}
