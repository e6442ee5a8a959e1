import { createHash } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { Backend, Certificate } from '../../snapshot/index.ts';

/**
 * TLS options towards a backend's endpoints, resolved once per snapshot from its `tls` policy and the
 * certificate entry it names: plain options for undici's connector and node:https alike. `key` changes
 * whenever anything that shapes a connection does (settings or PEM bytes), so pools are keyed by it.
 */
export interface UpstreamTlsOptions {
  readonly key: string;
  /** The name certificates are checked against (`proxy-ssl-name`), whether or not it is sent as SNI. */
  readonly serverName: string;
  readonly rejectUnauthorized: boolean;
  /** Trust anchors (`ca.crt`); absent means Node's root CAs, empty trusts nothing. */
  readonly ca?: readonly string[];
  /** Client certificate and key (the Secret's pair). */
  readonly cert?: string;
  readonly privateKey?: string;
  /** SNI sent; absent sends none (endpoint addresses are IPs, which RFC 6066 section 3 forbids as SNI). */
  readonly servername?: string;
  /** Checks the name the policy asks for, not the endpoint's IP address the socket was opened to. */
  readonly checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
}

/**
 * The TLS options of `backend`, or undefined for plain HTTP. A `secret` the snapshot does not carry (the
 * builder never emits that) leaves the client certificate out and, when verifying, fails every handshake
 * (an empty trust store) rather than trusting Node's roots instead of the CA the user named.
 */
export function upstreamTlsOptions(
  backend: Backend,
  certificates: ReadonlyMap<string, Certificate>,
): UpstreamTlsOptions | undefined {
  const tls = backend.tls;
  if (tls === undefined) return undefined;
  const cert = tls.secret === undefined ? undefined : certificates.get(tls.secret);
  const ca = tls.secret === undefined ? undefined : cert?.caPem === undefined ? [] : [cert.caPem];
  const name = tls.serverName;
  const hash = createHash('sha256').update(JSON.stringify([tls, ca ?? null, cert?.certPem ?? null]));
  const out: {
    -readonly [K in keyof UpstreamTlsOptions]: UpstreamTlsOptions[K];
  } = {
    key: hash.digest('hex').slice(0, 16),
    serverName: name,
    rejectUnauthorized: tls.verify,
    checkServerIdentity: tls.verify ? (_host, peer) => checkServerIdentity(name, peer) : () => undefined,
  };
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) {
    out.cert = cert.certPem;
    out.privateKey = cert.keyPem;
  }
  if (tls.sni) out.servername = name;
  return out;
}
