import type { AffinityPolicy, Backend, Endpoint } from '../../../src/snapshot/index.ts';

/** Test fixtures for the upstream layer: small snapshot backends with sane defaults. */
export const KEY = Buffer.from('0123456789abcdef0123456789abcdef');

/** Endpoint `n` of the `chat` Service: id default/chat-n:3000, address 127.0.0.(10+n). */
export function endpoint(n: number, over: Partial<Endpoint> = {}): Endpoint {
  return {
    id: `default/chat-${n}:3000`,
    address: `127.0.0.${10 + n}`,
    port: 3000,
    weight: 1,
    ready: true,
    serving: true,
    terminating: false,
    ...over,
  };
}

export function backend(endpoints: Endpoint[], over: Partial<Backend> = {}): Backend {
  return {
    id: 'default/chat:http',
    service: { namespace: 'default', name: 'chat', port: 'http' },
    source: { kind: 'Ingress', namespace: 'default', name: 'chat' },
    endpoints,
    balance: 'round-robin',
    timeouts: { connectMs: 1000, readMs: 1000, tunnelIdleMs: 1000 },
    retries: 1,
    health: { passive: { failures: 3, cooldownMs: 10_000 } },
    ...over,
  };
}

export function affinity(
  cookie: Partial<AffinityPolicy['cookie']> = {},
  over: Partial<Omit<AffinityPolicy, 'cookie'>> = {},
): AffinityPolicy {
  return {
    cookie: { name: 'route', path: '/', secure: 'auto', httpOnly: true, ...cookie },
    mode: 'balanced',
    changeOnFailure: true,
    ...over,
  };
}

/** A deterministic pseudo-random source (mulberry32) for reproducible random-two runs. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
