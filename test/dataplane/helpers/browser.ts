import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); no browser is ever downloaded. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless, and nothing the browser would fetch from the internet on its own. */
export const QUIET = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-proxy-server',
];

/**
 * The value Chromium's `--ignore-certificate-errors-spki-list` takes for `certPem`: base64 of the SHA-256 of
 * its SubjectPublicKeyInfo. Only a chain holding that key is accepted; every other certificate check stays on.
 */
export function spkiPin(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** One browser session: its own Chromium process and profile (cookie jar); close() removes both. */
export interface BrowserSession {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts headless Chromium with a fresh profile in a temp dir. `hosts` resolve to 127.0.0.1 only
 * (`--host-resolver-rules`), and `pinnedCertPem`'s key is trusted by SPKI pin (the flag needs
 * `--user-data-dir`, which a persistent context passes).
 */
export async function startBrowser(o: { hosts: string[]; pinnedCertPem: string }): Promise<BrowserSession> {
  const profile = await mkdtemp(join(tmpdir(), 'sticky-chromium-'));
  const rules = o.hosts.map((h) => `MAP ${h} 127.0.0.1`).join(', ');
  const args = [
    ...QUIET,
    `--host-resolver-rules=${rules}`,
    `--ignore-certificate-errors-spki-list=${spkiPin(o.pinnedCertPem)}`,
  ];
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
