import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseH2load } from './h2load.ts';

/** h2load 1.52 (Debian bookworm's nghttp2-client) with -D: timing-based run. */
const SAMPLE = `starting benchmark...
spawning thread #0: 64 total client(s). Timing-based test with 0s of warm-up time and 4s of main duration for measurements.
TLS Protocol: TLSv1.3
Cipher: TLS_AES_256_GCM_SHA384
Server Temp Key: X25519 253 bits
Application protocol: h2
Warm-up phase is over for thread #0.
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 4.01s, 12345.75 req/s, 1.02MB/s
requests: 49383 total, 50023 started, 49383 done, 49370 succeeded, 13 failed, 2 errored, 1 timeout
status codes: 49370 2xx, 0 3xx, 4 4xx, 9 5xx
traffic: 4.09MB (4288402) total, 2.62MB (2748510) headers (space savings 35.36%), 144.68KB (148149) data
                     min         max         mean         sd        +/- sd
time for request:      850us      1.02s     51.84ms     12.31ms    68.12%
time for connect:    11.27ms    78.39ms     44.21ms     19.71ms    57.81%
time to 1st byte:    41.60ms    98.12ms     71.05ms     16.28ms    62.50%
req/s           :     183.21      201.78      192.90        4.89    70.31%
`;

describe('parseH2load', () => {
  test('reads throughput, request time in any unit, failures and the negotiated protocol', () => {
    const r = parseH2load(SAMPLE);
    assert.equal(r.requestsPerSec, 12345.75);
    assert.equal(r.requests, 49383);
    assert.equal(r.succeeded, 49370);
    assert.equal(r.failed, 16);
    assert.equal(r.non2xx3xx, 13);
    assert.equal(r.meanMs, 51.84);
    assert.equal(r.sdMs, 12.31);
    assert.equal(r.protocol, 'h2');
  });

  test('a run that fell back to HTTP/1.1 says so (runH2load refuses it as an h2 figure)', () => {
    const r = parseH2load(SAMPLE.replace('Application protocol: h2', 'Application protocol: http/1.1'));
    assert.equal(r.protocol, 'http/1.1');
  });

  test('rejects output without a summary (no connection could be made)', () => {
    const out = 'starting benchmark...\nNo protocol negotiated. Aborted.\n';
    assert.throws(() => parseH2load(out), /finished in/);
  });
});
