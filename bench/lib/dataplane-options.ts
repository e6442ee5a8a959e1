import { randomBytes } from 'node:crypto';
import { pino } from 'pino';

/**
 * The Dataplane options every in-process bench uses (loopback, ephemeral ports, silent logs), so the scripts
 * differ only in what they set on top. Plain data: path-cpu.ts hands it to another checkout's Dataplane too.
 */
export function benchDataplaneOptions(o: { keepAliveTimeoutMs?: number; logLevel?: string } = {}) {
  return {
    bindAddress: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    affinityKey: randomBytes(32),
    trustedProxies: [],
    maxHeaderSize: 16_384,
    requestHeaderTimeoutMs: 10_000,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? 60_000,
    logger: pino({ level: o.logLevel ?? 'silent' }),
  };
}
