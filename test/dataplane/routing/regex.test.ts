import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileRegex, LinearRegex, RegexError } from '../../../src/snapshot/index.ts';

const PATH = { caseInsensitive: true, anchored: true } as const;

describe('linear-time regex matcher (ingress-nginx regex paths)', () => {
  test('ingress-nginx rewrite example: /something(/|$)(.*) captures what /$2 needs', () => {
    const r = new LinearRegex('/something(/|$)(.*)', PATH);
    assert.deepEqual(r.exec('/something')?.groups, ['/something', '', '']);
    assert.deepEqual(r.exec('/something/')?.groups, ['/something/', '/', '']);
    assert.deepEqual(r.exec('/something/new')?.groups, ['/something/new', '/', 'new']);
    assert.deepEqual(
      r.exec('/SomeThing/New')?.groups,
      ['/SomeThing/New', '/', 'New'],
      'case-insensitive (~*)',
    );
    assert.equal(r.exec('/somethingelse'), undefined, '(/|$) needs a slash or the end');
    assert.equal(r.exec('/x/something/new'), undefined, 'anchored at the start, like ^ in the location');
  });

  test('PCRE leftmost-first choices: alternation order and lazy quantifiers', () => {
    assert.deepEqual(new LinearRegex('(a|ab)(c|bcd)(d*)', PATH).exec('abcd')?.groups, [
      'abcd',
      'a',
      'bcd',
      '',
    ]);
    assert.deepEqual(new LinearRegex('/(.*?)(/.*)?$', PATH).exec('/a/b/c')?.groups, ['/a/b/c', 'a', '/b/c']);
    assert.deepEqual(new LinearRegex('/v[0-9]{1,3}/(\\w+)', PATH).exec('/v12/users/1')?.groups, [
      '/v12/users',
      'users',
    ]);
  });

  test('unanchored, case-sensitive search for canary header patterns', () => {
    const r = new LinearRegex('beta|gamma', { caseInsensitive: false, anchored: false });
    assert.equal(r.test('user-gamma-7'), true);
    assert.equal(r.test('GAMMA'), false);
  });

  test('constructs that need backtracking are refused with a stable code, never approximated', () => {
    for (const p of [
      '/(a+)\\1',
      '/(?=a)',
      '/(?!a)',
      '/(?<=a)b',
      '/(?<n>a)',
      '/a++',
      '/\\bword',
      '/(?i)x',
      '/[[:alpha:]]',
    ]) {
      const r = compileRegex(p, PATH);
      assert.ok(r instanceof RegexError, p);
      assert.equal(r.code, 'STICKY_ERR_INPUT_REGEX');
    }
    for (const p of ['/(', '/[a-', '/a{3,2}', '*abc', `/${'a'.repeat(2000)}`]) {
      assert.ok(compileRegex(p, PATH) instanceof RegexError, p);
    }
  });

  test('ReDoS: (a+)+$ against aaaa...! costs a small multiple of a plain match, and grows linearly', () => {
    // A backtracking engine (JS RegExp, PCRE without JIT limits) needs ~2^n steps here; we count the VM's
    // work instead of timing it, so the test is exact on a noisy machine.
    const evil = new LinearRegex('(a+)+$', PATH);
    const plain = new LinearRegex('[a-z]+', PATH);
    const work = (r: LinearRegex, n: number) => {
      r.test(`${'a'.repeat(n)}!`);
      return r.lastSteps;
    };
    const n = 20_000;
    const ratio = work(evil, n) / work(plain, n);
    assert.ok(ratio <= 4, `evil/plain work ratio ${ratio.toFixed(2)}`);
    const growth = work(evil, 2 * n) / work(evil, n);
    assert.ok(growth > 1.9 && growth < 2.1, `doubling the input multiplied the work by ${growth.toFixed(2)}`);
    assert.equal(evil.test(`${'a'.repeat(n)}!`), false);
    assert.equal(evil.test('a'.repeat(n)), true);
  });
});
