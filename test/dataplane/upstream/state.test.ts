import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Upstreams } from '../../../src/dataplane/upstream/upstreams.ts';
import { backend, endpoint, KEY } from './fixtures.ts';

describe('Upstreams.update', () => {
  test('endpoint state survives a swap: same object, counts kept, address/weight/flags updated in place', () => {
    const up = new Upstreams({ affinityKey: KEY });
    up.update([backend([endpoint(1), endpoint(2)])]);
    const e1 = up.backend('default/chat:http')!.pick(undefined, false)!.endpoint;
    e1.acquire();
    e1.acquire();
    e1.connectFailed();
    up.update([
      backend([
        endpoint(1, { address: '127.0.0.77', port: 4000, weight: 9, terminating: true }),
        endpoint(3),
      ]),
    ]);
    const after = [...up.endpoints()];
    assert.equal(after[0], e1);
    assert.deepEqual(
      [e1.active, e1.requests, e1.failures, e1.address, e1.port, e1.weight, e1.terminating],
      [2, 2, 1, '127.0.0.77', 4000, 9, true],
    );
    assert.deepEqual(
      after.map((e) => e.id),
      ['default/chat-1:3000', 'default/chat-3:3000'],
    );
    e1.release();
    e1.release();
    e1.release();
    assert.equal(e1.active, 0, 'release never goes negative');
  });

  test('a removed endpoint is dropped; when it comes back it starts fresh', () => {
    const up = new Upstreams({ affinityKey: KEY });
    up.update([backend([endpoint(1)])]);
    const first = [...up.endpoints()][0]!;
    first.acquire();
    up.update([backend([])]);
    assert.equal([...up.endpoints()].length, 0);
    assert.equal(up.backend('default/chat:http')!.pick(undefined, false), undefined);
    up.update([backend([endpoint(1)])]);
    const again = [...up.endpoints()][0]!;
    assert.notEqual(again, first);
    assert.equal(again.active, 0);
  });

  test('backends listing one endpoint id share one state; removed backends disappear', () => {
    const up = new Upstreams({ affinityKey: KEY });
    up.update([backend([endpoint(1)], { id: 'a' }), backend([endpoint(1), endpoint(2)], { id: 'b' })]);
    const a = up.backend('a')!.pick(undefined, false)!.endpoint;
    const b = up.backend('b')!.pick(undefined, false)!.endpoint;
    assert.equal(a, b);
    assert.equal([...up.endpoints()].length, 2);
    up.update([backend([endpoint(2)], { id: 'b' })]);
    assert.equal(up.backend('a'), undefined);
  });

  test('round-robin position carries over a swap instead of restarting at the first endpoint', () => {
    const up = new Upstreams({ affinityKey: KEY });
    const b = backend([endpoint(1), endpoint(2), endpoint(3)]);
    up.update([b]);
    assert.equal(up.backend(b.id)!.pick(undefined, false)!.endpoint.id, 'default/chat-1:3000');
    up.update([{ ...b }]);
    assert.equal(up.backend(b.id)!.pick(undefined, false)!.endpoint.id, 'default/chat-2:3000');
  });

  test('an invalid active check path is reported once and starts no checker', () => {
    const problems: string[] = [];
    const up = new Upstreams({ affinityKey: KEY, onConfigProblem: (b, m) => problems.push(`${b.id}: ${m}`) });
    const active = {
      path: '/health z',
      intervalMs: 10,
      timeoutMs: 10,
      healthyThreshold: 1,
      unhealthyThreshold: 1,
    };
    const b = backend([endpoint(1)], { health: { passive: { failures: 1, cooldownMs: 1 }, active } });
    up.update([b]);
    up.update([b]);
    assert.deepEqual(problems, ['default/chat:http: active health check off: path "/health z" is invalid']);
    assert.equal(up.activeChecks, 0);
    up.close();
  });

  test('rejects an empty affinity key with a stable code', () => {
    assert.throws(() => new Upstreams({ affinityKey: Buffer.alloc(0) }), {
      code: 'STICKY_ERR_OPTION_INVALID',
    });
  });
});

describe('passive health', () => {
  function setup() {
    let now = 1_000_000;
    const ejections: string[] = [];
    const up = new Upstreams({
      affinityKey: KEY,
      now: () => now,
      onEject: (id, ms) => ejections.push(`${id} ${ms}`),
    });
    up.update([
      backend([endpoint(1), endpoint(2)], { health: { passive: { failures: 3, cooldownMs: 5000 } } }),
    ]);
    const e = [...up.endpoints()][0]!;
    return { up, e, ejections, advance: (ms: number) => (now += ms) };
  }

  test('consecutive connect failures eject for cooldownMs, then the endpoint is eligible again', () => {
    const { up, e, ejections, advance } = setup();
    e.connectFailed();
    e.connectFailed();
    assert.equal(e.healthy, true);
    e.connectFailed();
    assert.equal(e.healthy, false);
    assert.deepEqual(ejections, ['default/chat-1:3000 5000']);
    const b = up.backend('default/chat:http')!;
    for (let i = 0; i < 4; i++) assert.equal(b.pick(undefined, false)!.endpoint.id, 'default/chat-2:3000');
    advance(4999);
    assert.equal(e.healthy, false);
    advance(1);
    assert.equal(e.healthy, true);
    const picked = new Set(Array.from({ length: 4 }, () => b.pick(undefined, false)!.endpoint.id));
    assert.equal(picked.size, 2);
  });

  test('half-open: after the cooldown one failure re-ejects; a success resets the count', () => {
    const { e, advance } = setup();
    for (let i = 0; i < 3; i++) e.connectFailed();
    advance(5000);
    assert.equal(e.healthy, true);
    e.connectFailed();
    assert.equal(e.healthy, false);
    advance(5000);
    e.connectSucceeded();
    e.connectFailed();
    e.connectFailed();
    assert.equal(e.healthy, true);
    e.connectFailed();
    assert.equal(e.healthy, false);
  });

  test('a success between failures keeps the endpoint in', () => {
    const { e } = setup();
    for (let i = 0; i < 10; i++) {
      e.connectFailed();
      e.connectFailed();
      e.connectSucceeded();
    }
    assert.equal(e.healthy, true);
    assert.equal(e.failures, 20);
  });
});
