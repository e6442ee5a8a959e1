import { generate } from 'selfsigned';

/** A PEM pair as the snapshot carries it. */
export interface TestCert {
  certPem: string;
  keyPem: string;
}

/**
 * A self-signed ECDSA certificate for `names` (DNS SANs; `*.x` allowed). `cn` lets a test tell two
 * certificates for the same names apart (renewal).
 */
export async function makeCert(names: string[], cn = names[0] ?? 'test'): Promise<TestCert> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) }],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}
