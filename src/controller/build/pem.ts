/**
 * PEM shape checks in linear time. A Secret is tenant input parsed on the event loop every replica serves
 * traffic from: the regex this replaces (`BEGIN[\s\S]+?END`) backtracked over every BEGIN marker, so a ~750 KB
 * `tls.crt` of BEGIN markers without an END cost seconds per parse (issue 10 item 8, docs/security.md).
 */

/** Largest `tls.crt` / `tls.key` accepted, decoded (a real chain is a few KiB; Kubernetes caps a Secret at 1 MiB). */
export const MAX_PEM_BYTES = 256 * 1024;

const KEY_LABELS = ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY'] as const;

/**
 * Whether `text` holds a `-----BEGIN <label>-----` ... `-----END <label>-----` block with something between.
 * Only the first BEGIN needs looking at: if any BEGIN has an END after it, so has the first. Two indexOf: O(n).
 */
function hasPemBlock(text: string, label: string): boolean {
  const begin = `-----BEGIN ${label}-----`;
  const start = text.indexOf(begin);
  return start !== -1 && text.indexOf(`-----END ${label}-----`, start + begin.length + 1) !== -1;
}

/** Whether `text` holds a certificate block (RFC 7468 section 5). */
export function hasCertificate(text: string): boolean {
  return hasPemBlock(text, 'CERTIFICATE');
}

/** Whether `text` holds a private key block: PKCS#8, PKCS#1 (RSA), SEC 1 (EC) or encrypted PKCS#8. */
export function hasPrivateKey(text: string): boolean {
  return KEY_LABELS.some((label) => hasPemBlock(text, label));
}
