import { Writable } from 'node:stream';
import { after, before } from 'node:test';
import { pino } from 'pino';
import { Dataplane, type DataplaneOptions } from '../../../src/dataplane/dataplane.ts';

/** A started dataplane on 127.0.0.1 ephemeral ports, with its log lines captured (parsed JSON). */
export interface TestDataplane {
  dp: Dataplane;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** The same key for every test dataplane, so two instances pin clients identically. */
export const TEST_AFFINITY_KEY = Buffer.from('0123456789abcdef0123456789abcdef');

/** The test defaults of a Dataplane (127.0.0.1, ephemeral ports, a silent logger); `overrides` replaces any. */
export function testDataplaneOptions(overrides: Partial<DataplaneOptions> = {}): DataplaneOptions {
  return {
    bindAddress: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    affinityKey: TEST_AFFINITY_KEY,
    trustedProxies: [],
    maxHeaderSize: 16_384,
    requestHeaderTimeoutMs: 10_000,
    keepAliveTimeoutMs: 5_000,
    logger: pino({ level: 'silent' }),
    // The whole dataplane suite runs with either upstream client: STICKY_TEST_UPSTREAM_CLIENT=raw|undici.
    upstreamClient: process.env.STICKY_TEST_UPSTREAM_CLIENT === 'undici' ? 'undici' : 'raw',
    ...overrides,
  };
}

/** Starts a Dataplane with test defaults and its log captured; `overrides` replaces any option. */
export async function startDataplane(overrides: Partial<DataplaneOptions> = {}): Promise<TestDataplane> {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const dp = new Dataplane(testDataplaneOptions({ logger: pino({ level: 'debug' }, sink), ...overrides }));
  await dp.start();
  return { dp, logs, close: () => dp.shutdown({ drainTimeoutMs: 1_000 }) };
}

/**
 * The set-up most dataplane suites share, as node:test hooks of the enclosing suite (or file): `start()`'s
 * backends and a test dataplane start before its tests and are handed to `ready`; both close after them.
 */
export function dataplaneHooks<B extends { close(): Promise<void> }>(
  start: () => Promise<B[]>,
  ready: (backends: B[], t: TestDataplane) => void,
): void {
  let backends: B[] = [];
  let t: TestDataplane | undefined;
  before(async () => {
    backends = await start();
    t = await startDataplane();
    ready(backends, t);
  });
  after(async () => {
    await t?.close();
    await Promise.all(backends.map((b) => b.close()));
  });
}
