import { generate } from 'selfsigned';

/** A PEM certificate chain and private key. */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

/**
 * Generates the fallback default certificate served when the snapshot names none (what ingress-nginx calls
 * the "Fake Certificate"): ECDSA P-256, SHA-256, valid one year. Generated at start-up, never written to disk.
 */
export async function generateDefaultCertificate(
  commonName = 'sticky-ingress default certificate',
): Promise<PemPair> {
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate.getTime() + 365 * 24 * 3600 * 1000);
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'ingress.local' }] },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}
