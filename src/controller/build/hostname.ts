/** `*` is the host of rules without one (and of spec.defaultBackend). */
export const ANY_HOST = '*';

const LABEL = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^(\\*\\.)?${LABEL}(\\.${LABEL})*$`);

/**
 * A lower-cased Ingress host, or undefined when it is not an RFC 1123 name with an optional `*.` label.
 * The API server validates this too, but manifest-folder objects never met it.
 */
export function normalizeHost(host: unknown): string | undefined {
  if (host === undefined || host === null || host === '') return ANY_HOST;
  if (typeof host !== 'string') return undefined;
  const h = host.toLowerCase();
  if (h.length > 253 || !DNS_NAME.test(h) || /^\d+(\.\d+){3}$/.test(h)) return undefined;
  return h;
}

/** A TLS host covers a rule host when equal, or when it is `*.suffix` and the rule host is one label + suffix. */
export function tlsCovers(tlsHost: string, ruleHost: string): boolean {
  if (tlsHost === ruleHost) return true;
  if (!tlsHost.startsWith('*.') || ruleHost.startsWith('*')) return false;
  const dot = ruleHost.indexOf('.');
  return dot > 0 && ruleHost.slice(dot) === tlsHost.slice(1);
}
