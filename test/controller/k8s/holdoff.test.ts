import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff } from '../../../src/controller/k8s/backoff.ts';
import { Holdoff } from '../../../src/controller/k8s/holdoff.ts';

describe('Holdoff', () => {
  test('a burst of triggers fires once, after the burst', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    let fired = 0;
    const h = new Holdoff(() => fired++, 100, 500);
    for (let i = 0; i < 5; i += 1) {
      h.trigger();
      t.mock.timers.tick(50);
    }
    assert.equal(fired, 0);
    t.mock.timers.tick(100);
    assert.equal(fired, 1);
    assert.equal(h.pending, false);
    h.close();
  });

  test('a steady trickle cannot postpone the fire past the maximum delay', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const start = Date.now();
    const firedAt: number[] = [];
    const h = new Holdoff(
      () => firedAt.push(Date.now() - start),
      100,
      500,
      () => Date.now(),
    );
    for (let i = 0; i < 20 && firedAt.length === 0; i += 1) {
      h.trigger();
      t.mock.timers.tick(60);
    }
    assert.equal(firedAt.length, 1);
    assert.ok((firedAt[0] ?? 0) <= 540, `fired ${firedAt[0]} ms after the first trigger`);
    h.close();
  });

  test('close() cancels a pending fire', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let fired = 0;
    const h = new Holdoff(() => fired++, 100, 500);
    h.trigger();
    h.close();
    t.mock.timers.tick(1000);
    h.trigger();
    t.mock.timers.tick(1000);
    assert.equal(fired, 0);
  });

  test('rejects a maximum below the delay', () => {
    assert.throws(() => new Holdoff(() => {}, 500, 100), { code: 'STICKY_ERR_OPTION_INVALID' });
  });
});

describe('Backoff', () => {
  test('doubles up to the cap, with jitter in the upper half, and resets', () => {
    const high = new Backoff(100, 1000, () => 1);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => high.next()),
      [100, 200, 400, 800, 1000, 1000],
    );
    const low = new Backoff(100, 1000, () => 0);
    assert.deepEqual(
      [1, 2, 3].map(() => low.next()),
      [50, 100, 200],
    );
    high.reset();
    assert.equal(high.next(), 100);
  });
});
