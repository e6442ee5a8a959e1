import assert from 'node:assert/strict';
import { test } from 'node:test';
import { durationMs } from '../../src/shared/duration.ts';

test('one duration format for flags and StickyRoute fields: ms, s, m, h; anything else is refused', () => {
  assert.deepEqual(['500ms', '5s', '2m', '1h', '0s'].map(durationMs), [500, 5_000, 120_000, 3_600_000, 0]);
  for (const bad of ['5', '1.5s', '-1s', '5 s', '1d', ''])
    assert.throws(() => durationMs(bad), { code: 'STICKY_ERR_INPUT_DURATION' });
});
