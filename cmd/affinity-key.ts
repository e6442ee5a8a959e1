import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../src/shared/errors.ts';

/** Shortest accepted key: 128 bits, the HMAC-SHA256 guidance floor (RFC 2104, section 3). */
const MIN_AFFINITY_KEY_BYTES = 16;

/** The key that signs affinity cookies, and whether it was generated (cookies then differ per process). */
export interface AffinityKey {
  key: Buffer;
  generated: boolean;
}

/**
 * Reads the key file (surrounding whitespace trimmed, a trailing newline is the common case), or generates
 * a random key when no file is given. Throws ConfigError for an unreadable or too short file.
 */
export async function loadAffinityKey(file: string | undefined): Promise<AffinityKey> {
  if (file === undefined) return { key: randomBytes(32), generated: true };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`--affinity-key-file ${file}: cannot read: ${(err as Error).message}`);
  }
  const key = Buffer.from(text.trim(), 'utf8');
  if (key.length < MIN_AFFINITY_KEY_BYTES) {
    throw new ConfigError(
      `--affinity-key-file ${file}: key is ${key.length} bytes, needs at least ${MIN_AFFINITY_KEY_BYTES}`,
    );
  }
  return { key, generated: false };
}
