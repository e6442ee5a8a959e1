import type { Certificate } from '../../snapshot/types.ts';
import type { BuildContext } from './context.ts';
import { isRecord, type ObjectRef, str } from './meta.ts';
import { hasCertificate, hasPrivateKey, MAX_PEM_BYTES } from './pem.ts';

/** Why a TLS Secret cannot serve, as a diagnostic reason and message. */
export interface SecretProblem {
  reason: 'SecretNotFound' | 'InvalidCertificate' | 'SecretTooLarge';
  message: string;
}

/**
 * Loads `namespace/name` as a certificate: a kubernetes.io/tls Secret whose base64 `tls.crt`/`tls.key` decode
 * to PEM. Only the PEM shape is checked here; the dataplane does the crypto check when it loads the pair.
 */
export function loadCertificate(
  ctx: BuildContext,
  namespace: string,
  name: string,
): { id: string; caPem?: string } | { problem: SecretProblem } {
  const id = `${namespace}/${name}`;
  // Looked up even when another object loaded it already: the lookup is what a replayed object depends on.
  const secret = ctx.index.secret(namespace, name);
  if (!secret) return { problem: { reason: 'SecretNotFound', message: `Secret ${id} not found` } };
  const known = ctx.cache.certificates.get(secret);
  const result = known?.id === id ? known.result : parseSecret(secret, id);
  if (known?.id !== id) ctx.cache.certificates.set(secret, { id, result });
  if ('reason' in result) return { problem: result };
  ctx.addCertificate(result);
  return result.caPem === undefined ? { id } : { id, caPem: result.caPem };
}

// The same Secret object always gives the same (frozen once published) Certificate object.
function parseSecret(secret: Record<string, unknown>, id: string): Certificate | SecretProblem {
  if (secret.type !== undefined && secret.type !== 'kubernetes.io/tls') {
    return {
      reason: 'InvalidCertificate',
      message: `Secret ${id} is of type ${String(secret.type)}, not kubernetes.io/tls`,
    };
  }
  const data = isRecord(secret.data) ? secret.data : {};
  // stringData only survives in manifest files (the API server folds it into data), and is not base64.
  const plain = isRecord(secret.stringData) ? secret.stringData : {};
  const certPem = decode(data['tls.crt']) ?? str(plain['tls.crt']);
  const keyPem = decode(data['tls.key']) ?? str(plain['tls.key']);
  const caPem = decode(data['ca.crt']) ?? str(plain['ca.crt']);
  for (const [key, pem] of [
    ['tls.crt', certPem],
    ['tls.key', keyPem],
    ['ca.crt', caPem],
  ] as const) {
    const bytes = pem === undefined ? 0 : Buffer.byteLength(pem);
    if (bytes > MAX_PEM_BYTES) {
      const message = `Secret ${id}: ${key} is ${bytes} bytes, over the ${MAX_PEM_BYTES}-byte limit`;
      return { reason: 'SecretTooLarge', message };
    }
  }
  if (!certPem || !hasCertificate(certPem)) {
    return { reason: 'InvalidCertificate', message: `Secret ${id}: tls.crt is not a PEM certificate` };
  }
  if (keyPem?.includes('ENCRYPTED PRIVATE KEY')) {
    return { reason: 'InvalidCertificate', message: `Secret ${id}: tls.key is encrypted` };
  }
  if (!keyPem || !hasPrivateKey(keyPem)) {
    return { reason: 'InvalidCertificate', message: `Secret ${id}: tls.key is not a PEM private key` };
  }
  // ca.crt is only used as trust anchors for upstream TLS (proxy-ssl-secret); a bad one is left out.
  return caPem && hasCertificate(caPem) ? { id, certPem, keyPem, caPem } : { id, certPem, keyPem };
}

function decode(v: unknown): string | undefined {
  const s = str(v);
  if (!s || !/^[A-Za-z0-9+/=\s]+$/.test(s)) return undefined;
  return Buffer.from(s, 'base64').toString('utf8');
}

/** The `--default-certificate` Secret, if set and usable; a diagnostic on the Secret otherwise. */
export function defaultCertificate(ctx: BuildContext): string | undefined {
  const wanted = ctx.options.defaultCertificate;
  if (!wanted) return undefined;
  const [namespace = '', name = ''] = wanted.split('/');
  const result = loadCertificate(ctx, namespace, name);
  if ('id' in result) return result.id;
  const ref: ObjectRef = { kind: 'Secret', namespace, name };
  ctx.report(ref, {
    severity: 'Error',
    reason: result.problem.reason,
    message: `default certificate unusable: ${result.problem.message}; the generated self-signed certificate serves instead`,
  });
  return undefined;
}
