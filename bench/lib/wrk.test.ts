import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mediansOf } from './table.ts';
import { parseWrk } from './wrk.ts';

const SAMPLE = `Running 2s test @ http://127.0.0.1:40000/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10ms  512.00us  12.30ms   90.00%
    Req/Sec    58.12k     1.20k   60.00k    80.00%
  Latency Distribution
     50%  850.00us
     75%    1.20ms
     90%    1.70ms
     99%    1.02s
  116240 requests in 2.00s, 16.52MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:  58112.45
Transfer/sec:      8.26MB
`;

describe('parseWrk', () => {
  test('reads throughput, percentiles in any unit, and failures', () => {
    const r = parseWrk(SAMPLE);
    assert.equal(r.requestsPerSec, 58112.45);
    assert.equal(r.requests, 116240);
    assert.equal(r.p50Ms, 0.85);
    assert.equal(r.p90Ms, 1.7);
    assert.equal(r.p99Ms, 1020);
    assert.equal(r.socketErrors, 6);
    assert.equal(r.non2xx3xx, 7);
  });

  test('rejects output without a throughput line', () => {
    assert.throws(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused'), /Requests\/sec/);
  });
});

describe('mediansOf', () => {
  test('takes the median of each figure over rounds, per scenario and contestant', () => {
    const rec = (round: number, contestant: string, rps: number) => ({
      round,
      scenario: 'http' as const,
      contestant,
      figures: { rps },
    });
    const m = mediansOf([rec(1, 'a', 10), rec(2, 'a', 30), rec(3, 'a', 20), rec(1, 'b', 5), rec(2, 'b', 7)]);
    assert.equal(m.http?.a?.rps, 20);
    assert.equal(m.http?.b?.rps, 6);
  });
});

describe('mediansOf: requests per proxy core', () => {
  test('each round divides its req/s by the proxy CPU of that round before the median', () => {
    const rec = (round: number, rps: number, proxyCpu: number) => ({
      round,
      scenario: 'http' as const,
      contestant: 'a',
      figures: { rps, proxyCpu },
    });
    // Per round: 1000/0.5 = 2000, 900/0.9 = 1000, 1200/1.0 = 1200; a median of the quotients, not a quotient
    // of medians (1000 / 0.9 = 1111).
    const m = mediansOf([rec(1, 1000, 0.5), rec(2, 900, 0.9), rec(3, 1200, 1)]);
    assert.equal(m.http?.a?.rpsPerCore, 1200);
  });
  test('no figure where the proxy CPU is unknown or zero', () => {
    const m = mediansOf([{ round: 1, scenario: 'http', contestant: 'a', figures: { rps: 10, proxyCpu: 0 } }]);
    assert.equal(m.http?.a?.rpsPerCore, undefined);
  });
});
