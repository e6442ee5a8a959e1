import { generate } from 'selfsigned';

/** A PEM pair as the snapshot carries it. */
export interface TestCert {
  certPem: string;
  keyPem: string;
}

/**
 * A self-signed ECDSA certificate for `names` (DNS SANs; `*.x` allowed). `cn` lets a test tell two
 * certificates for the same names apart (renewal); `keyType` 'rsa' for RSA key-exchange suites.
 */
export async function makeCert(
  names: string[],
  cn = names[0] ?? 'test',
  keyType: 'ec' | 'rsa' = 'ec',
): Promise<TestCert> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    ...(keyType === 'ec'
      ? { keyType: 'ec' as const, curve: 'P-256' as const }
      : { keyType: 'rsa' as const, keySize: 2048 }),
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: names.map((value) => ({ type: 2 as const, value })) }],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}
