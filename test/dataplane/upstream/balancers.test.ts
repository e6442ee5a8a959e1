import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BackendState, Upstreams } from '../../../src/dataplane/upstream/upstreams.ts';
import type { BalancePolicy } from '../../../src/snapshot/index.ts';
import { backend, endpoint, KEY, seeded } from './fixtures.ts';

function setup(policy: BalancePolicy, endpoints: ReturnType<typeof endpoint>[], random = seeded(1)) {
  const up = new Upstreams({ affinityKey: KEY, random });
  up.update([backend(endpoints, { balance: policy })]);
  const b = up.backend('default/chat:http')!;
  return { up, b };
}

/** The short name (chat-n) of the endpoint picked, or 'none'. */
function pickName(b: BackendState, exclude?: ReadonlySet<string>): string {
  const s = b.pick(undefined, false, exclude);
  return s ? s.endpoint.id.replace(/^default\/(chat-\d+):3000$/, '$1') : 'none';
}

describe('round-robin (smooth weighted, nginx)', () => {
  test('weights 5:1:1 give nginx sequence a a b a c a a, repeating', () => {
    const { b } = setup('round-robin', [endpoint(1, { weight: 5 }), endpoint(2), endpoint(3)]);
    const seq = Array.from({ length: 14 }, () => pickName(b));
    const once = ['chat-1', 'chat-1', 'chat-2', 'chat-1', 'chat-3', 'chat-1', 'chat-1'];
    assert.deepEqual(seq, [...once, ...once]);
  });

  test('equal weights: exact even share and never the same endpoint twice in a row', () => {
    const { b } = setup('round-robin', [endpoint(1), endpoint(2), endpoint(3), endpoint(4)]);
    const counts = new Map<string, number>();
    let last = '';
    for (let i = 0; i < 400; i++) {
      const name = pickName(b);
      assert.notEqual(name, last);
      last = name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    assert.deepEqual([...counts.values()], [100, 100, 100, 100]);
  });

  test('weights are clamped to 1..256', () => {
    const { b } = setup('round-robin', [endpoint(1, { weight: 1000 }), endpoint(2, { weight: 0 })]);
    const picks = Array.from({ length: 257 }, () => pickName(b));
    assert.equal(picks.filter((p) => p === 'chat-2').length, 1);
  });
});

describe('least-conn', () => {
  test('prefers the idle endpoint', () => {
    const { up, b } = setup('least-conn', [endpoint(1), endpoint(2), endpoint(3)]);
    const [e1, e2] = [...up.endpoints()];
    for (let i = 0; i < 3; i++) {
      e1!.acquire();
      e2!.acquire();
    }
    assert.equal(pickName(b), 'chat-3');
    assert.equal(pickName(b), 'chat-3');
  });

  test('ties rotate so equal-load endpoints share new connections evenly', () => {
    const { b } = setup('least-conn', [endpoint(1), endpoint(2), endpoint(3)]);
    const seq = Array.from({ length: 6 }, () => pickName(b));
    assert.deepEqual(seq, ['chat-1', 'chat-2', 'chat-3', 'chat-1', 'chat-2', 'chat-3']);
  });

  test('load is active/weight, and acquiring spreads long-lived tunnels evenly', () => {
    const { b } = setup('least-conn', [endpoint(1, { weight: 3 }), endpoint(2)]);
    const counts = { 'chat-1': 0, 'chat-2': 0 } as Record<string, number>;
    for (let i = 0; i < 40; i++) {
      const s = b.pick(undefined, false)!;
      s.endpoint.acquire();
      counts[s.endpoint.id.slice(8, 14)]!++;
    }
    assert.deepEqual(counts, { 'chat-1': 30, 'chat-2': 10 });
  });
});

describe('random-two', () => {
  test('never picks the busiest of three when the others are idle', () => {
    const { up, b } = setup('random-two', [endpoint(1), endpoint(2), endpoint(3)], Math.random);
    const busy = [...up.endpoints()][1]!;
    for (let i = 0; i < 10; i++) busy.acquire();
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) seen.add(pickName(b));
    assert.deepEqual([...seen].sort(), ['chat-1', 'chat-3']);
  });

  test('picks the less loaded of its two random choices', () => {
    // random() = 0 twice: choices are the first and second eligible endpoints.
    const { up, b } = setup('random-two', [endpoint(1), endpoint(2), endpoint(3)], () => 0);
    [...up.endpoints()][0]!.acquire();
    assert.equal(pickName(b), 'chat-2');
  });

  test('a single eligible endpoint is picked', () => {
    const { b } = setup('random-two', [endpoint(1), endpoint(2, { ready: false })]);
    assert.equal(pickName(b), 'chat-1');
  });
});

describe('eligibility (every policy)', () => {
  for (const policy of ['round-robin', 'least-conn', 'random-two'] as const) {
    test(`${policy}: terminating and not-ready endpoints get no new sessions`, () => {
      const { b } = setup(policy, [
        endpoint(1, { terminating: true, ready: false, serving: true }),
        endpoint(2),
        endpoint(3, { ready: false }),
        endpoint(4, { terminating: true, ready: true }),
      ]);
      for (let i = 0; i < 50; i++) assert.equal(pickName(b), 'chat-2');
    });

    test(`${policy}: excluded endpoints are skipped; none left => undefined`, () => {
      const { b } = setup(policy, [endpoint(1), endpoint(2)]);
      const ex = new Set(['default/chat-1:3000']);
      for (let i = 0; i < 10; i++) assert.equal(pickName(b, ex), 'chat-2');
      assert.equal(pickName(b, new Set(['default/chat-1:3000', 'default/chat-2:3000'])), 'none');
    });

    test(`${policy}: ejected endpoints are avoided; all ejected => panic, ready ones still served`, () => {
      const { up, b } = setup(policy, [endpoint(1), endpoint(2), endpoint(3, { ready: false })]);
      const [e1, e2] = [...up.endpoints()];
      for (let i = 0; i < 3; i++) e1!.connectFailed();
      for (let i = 0; i < 10; i++) assert.equal(pickName(b), 'chat-2');
      for (let i = 0; i < 3; i++) e2!.connectFailed();
      const seen = new Set(Array.from({ length: 20 }, () => pickName(b)));
      assert.deepEqual([...seen].sort(), ['chat-1', 'chat-2']);
    });
  }

  test('a backend without endpoints picks nothing (503)', () => {
    const { b } = setup('round-robin', []);
    assert.equal(b.pick(undefined, true), undefined);
  });
});
