import { X509Certificate } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';
import type { Snapshot } from '../../snapshot/index.ts';

/** One TLS host's certificate: which one serves it and when it expires. */
export interface HostCertificate {
  host: string;
  /** Certificate id (Secret namespace/name). */
  certificate: string;
  /** Unix milliseconds of notAfter; undefined when the PEM does not parse. */
  notAfter: number | undefined;
}

/**
 * Certificate expiry per TLS host, for the `certificate_expiry_timestamp_seconds` gauge and /stats. PEMs are
 * parsed once per snapshot and cached by content, so an unchanged Secret is never parsed again. Hosts served
 * by the dataplane's generated default certificate are not listed (it is not in the snapshot).
 */
export class CertificateExpiry {
  #byPem = new Map<string, number | undefined>();
  #hosts: HostCertificate[] = [];
  #snapshot: Snapshot | undefined;

  /** Registers the gauge; `sync` is called at scrape time so the gauge follows the live snapshot. */
  constructor(registry: Registry, sync: () => void) {
    const self = this;
    new Gauge({
      name: 'sticky_ingress_certificate_expiry_timestamp_seconds',
      help: 'Unix time the certificate serving a TLS host expires (notAfter).',
      labelNames: ['host', 'certificate'],
      registers: [registry],
      collect() {
        sync();
        this.reset();
        for (const h of self.#hosts) {
          if (h.notAfter !== undefined)
            this.set({ host: h.host, certificate: h.certificate }, h.notAfter / 1000);
        }
      },
    });
  }

  /** The hosts of the last snapshot given to update(). */
  get hosts(): readonly HostCertificate[] {
    return this.#hosts;
  }

  /** Recomputes the hosts for `snapshot` (no-op when it is the same object as last time). */
  update(snapshot: Snapshot): void {
    if (snapshot === this.#snapshot) return;
    this.#snapshot = snapshot;
    const pems = new Map<string, string>();
    for (const c of snapshot.certificates) pems.set(c.id, c.certPem);
    const cache = new Map<string, number | undefined>();
    const hosts: HostCertificate[] = [];
    for (const vhost of snapshot.hosts) {
      if (vhost.tls === undefined) continue;
      const id = vhost.tls.certificate ?? snapshot.defaultCertificate;
      const pem = id === undefined ? undefined : pems.get(id);
      if (id === undefined || pem === undefined) continue;
      let notAfter = cache.get(pem);
      if (!cache.has(pem)) {
        notAfter = this.#byPem.has(pem) ? this.#byPem.get(pem) : parseNotAfter(pem);
        cache.set(pem, notAfter);
      }
      hosts.push({ host: vhost.hostname, certificate: id, notAfter });
    }
    // Only PEMs still in use stay cached: rotated certificates do not accumulate.
    this.#byPem = cache;
    this.#hosts = hosts;
  }
}

/** notAfter of the leaf (first certificate of the chain), or undefined when it does not parse. */
function parseNotAfter(pem: string): number | undefined {
  try {
    const t = Date.parse(new X509Certificate(pem).validTo);
    return Number.isFinite(t) ? t : undefined;
  } catch {
    return undefined;
  }
}
