import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTable, mediansOf, pairedRatios, type RunRecord } from './table.ts';

const run = (round: number, contestant: string, rps: number, proxyCpu = 1): RunRecord => ({
  round,
  scenario: 'http',
  contestant,
  figures: { rps, proxyCpu },
});

test('paired ratios divide within each round; the ratio of medians pairs different moments', () => {
  // The host doubled HAProxy's rate from round 2 and ours only in round 3: within every round we serve 0.4x or
  // 0.2x; the medians (200 and 40) would say 0.2x.
  const records = [
    run(1, 'haproxy', 100),
    run(1, 'sticky', 40),
    run(2, 'haproxy', 200),
    run(2, 'sticky', 40),
    run(3, 'haproxy', 200),
    run(3, 'sticky', 80),
  ];
  const paired = pairedRatios(records, 'haproxy');
  assert.equal(paired.http?.sticky, 0.4);
  const m = mediansOf(records);
  assert.equal((m.http?.sticky?.rpsPerCore as number) / (m.http?.haproxy?.rpsPerCore as number), 0.2);
  const table = formatTable(m, ['haproxy', 'sticky'], 'haproxy', paired);
  assert.match(table, /per core, paired in each round \(median\)\s+1\s+0\.40x/);
});

test('paired ratios are per proxy core, and a round without the baseline pairs nothing', () => {
  const records = [
    // HAProxy held to 80% of its core by the load core: per core it serves 125.
    run(1, 'haproxy', 100, 0.8),
    run(1, 'sticky', 50, 1),
    run(2, 'sticky', 10, 1),
  ];
  assert.deepEqual(pairedRatios(records, 'haproxy'), { http: { sticky: 0.4 } });
});
