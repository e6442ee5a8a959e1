import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from '../../../src/dataplane/observe/fast-metrics.ts';
import { Rates } from '../../../src/dataplane/observe/rates.ts';
import { escapeHtml } from '../../../src/dataplane/observe/stats-page.ts';

const BOUNDS = [0.01, 0.1, 1, 10];
const VALUES = [0, 0.01, 0.05, 0.1, 0.5, 2, 9.99, 10, 11, 1000];

describe('FastCounter / FastHistogram', () => {
  test('expose exactly what prom-client exposes for the same observations', async () => {
    const fast = new Registry();
    const fh = new FastHistogram(fast, 'x_seconds', 'help', ['a', 'b'], BOUNDS);
    const fc = new FastCounter(fast, 'x_total', 'help', ['a']);
    const ref = new Registry();
    const rh = new Histogram({
      name: 'x_seconds',
      help: 'help',
      labelNames: ['a', 'b'],
      buckets: BOUNDS,
      registers: [ref],
    });
    const rc = new Counter({ name: 'x_total', help: 'help', labelNames: ['a'], registers: [ref] });
    for (const [i, v] of VALUES.entries()) {
      const b = i % 2 === 0 ? 'even' : 'odd';
      fh.observe(fh.child('one', b), v);
      rh.observe({ a: 'one', b }, v);
      fc.child(b).value += i;
      rc.inc({ a: b }, i);
    }
    assert.equal(await fast.metrics(), await ref.metrics());
  });

  test('child() returns the same object for the same labels; retain() drops label sets', async () => {
    const r = new Registry();
    const c = new FastCounter(r, 'y_total', 'help', ['endpoint']);
    assert.equal(c.child('a'), c.child('a'));
    c.child('a').value = 2;
    c.child('b').value = 3;
    c.retain((l) => l.endpoint !== 'b');
    assert.equal(c.size, 1);
    const text = await r.metrics();
    assert.match(text, /^y_total\{endpoint="a"\} 2$/m);
    assert.doesNotMatch(text, /endpoint="b"/);
  });

  test('label values are escaped in the exposition', async () => {
    const r = new Registry();
    new FastCounter(r, 'z_total', 'help', ['host']).child('a"b\\c\nd').value = 1;
    assert.match(await r.metrics(), /^z_total\{host="a\\"b\\\\c\\nd"\} 1$/m);
  });
});

describe('Rates', () => {
  test('per-second rate between samples at least the interval apart', () => {
    const rates = new Rates(1000);
    assert.equal(rates.rate('k', 10, 0), 0);
    assert.equal(rates.rate('k', 20, 500), 0, 'too soon: keeps the last rate');
    assert.equal(rates.rate('k', 30, 2000), 10);
    assert.equal(rates.rate('k', 31, 2100), 10);
    assert.equal(rates.rate('k', 40, 3000), 10);
  });

  test('a counter that went down restarts; sweep forgets keys not sampled', () => {
    const rates = new Rates(1000);
    rates.rate('k', 100, 0);
    assert.equal(rates.rate('k', 5, 1000), 0);
    rates.sweep();
    rates.sweep();
    assert.equal(rates.rate('k', 50, 5000), 0, 'forgotten, so this is a first sample');
  });
});

test('escapeHtml escapes text and both attribute quotes', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
  );
  assert.equal(escapeHtml(undefined), '');
  assert.equal(escapeHtml(42), '42');
});
