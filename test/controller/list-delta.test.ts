import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applySnapshotChanges, snapshotChanges } from '../../src/snapshot/delta.ts';
import { finalizeSnapshot } from '../../src/snapshot/hash.ts';
import { applyListDelta, listDelta } from '../../src/snapshot/list-delta.ts';

type Part = { id: string; v: number };
const key = (p: Part) => p.id;
const list = (...ids: string[]): Part[] => ids.map((id) => ({ id, v: 0 }));

test('a replaced entry travels alone; the rest stay the receiver’s objects', () => {
  const before = list('a', 'b', 'c', 'd');
  const after = before.slice();
  after[2] = { id: 'c', v: 1 };
  const delta = listDelta(before, after, key);
  assert.deepEqual(delta?.put, [{ id: 'c', v: 1 }]);
  assert.deepEqual([delta?.at, delta?.from], [[2], [2]]);
  const receiver = structuredClone(before);
  const out = applyListDelta(receiver, structuredClone(delta), key);
  assert.deepEqual(out, after);
  assert.equal(out[0], receiver[0]);
  assert.equal(out[3], receiver[3]);
  assert.equal(listDelta(before, before.slice(), key), undefined, 'same entries: no delta');
  assert.equal(applyListDelta(receiver, undefined, key), receiver, 'no delta: the same array');
});

test('an added or removed entry: only the new one travels, the rest are runs of the old list', () => {
  const before = list('a', 'c', 'd');
  const added = [before[0]!, { id: 'b', v: 0 }, before[1]!, before[2]!];
  const delta = listDelta(before, added, key)!;
  assert.deepEqual(delta.put, [{ id: 'b', v: 0 }]);
  assert.deepEqual(delta.from, [-1]);
  assert.deepEqual(applyListDelta(before, delta, key), added);
  const removed = listDelta(before, [before[0]!, before[2]!], key)!;
  assert.deepEqual(removed.put, []);
  assert.deepEqual(applyListDelta(before, removed, key), [before[0], before[2]]);
});

test('any two lists: the receiver rebuilds exactly the sender’s, duplicates and order included', () => {
  let seed = 7;
  const pick = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const pool = list(...'abcdefghijklmnopqrstuvwxyz'.split(''));
  let current: Part[] = pool.slice(0, 12);
  for (let step = 0; step < 300; step++) {
    const next = current.slice();
    for (let e = 0; e <= pick(4); e++) {
      const op = pick(4);
      if (op === 0 && next.length > 0) next.splice(pick(next.length), 1);
      else if (op === 1) next.splice(pick(next.length + 1), 0, pool[pick(pool.length)]!);
      else if (op === 2 && next.length > 0) {
        const i = pick(next.length);
        next[i] = { id: next[i]!.id, v: step };
      } else if (next.length > 1) next.reverse();
    }
    const delta = listDelta(current, next, key);
    const rebuilt = applyListDelta(current, structuredClone(delta), key);
    assert.deepEqual(rebuilt, next, `step ${step}`);
    for (let i = 0; i < rebuilt.length; i++) {
      if (current.includes(next[i]!) && delta !== undefined && !delta.put.includes(next[i]!)) {
        assert.ok(current.includes(rebuilt[i]!), `step ${step}: kept entries are the receiver's own`);
      }
    }
    current = next;
  }
});

test('content-equal entries are not sent when `same` says so', () => {
  const before = list('a', 'b');
  const after = list('a', 'b');
  const same = (x: Part, y: Part) => x.v === y.v;
  assert.equal(listDelta(before, after, key, same), undefined);
  assert.deepEqual(listDelta(before, after, key)?.put.length, 2);
});

test('a delta made from another list is refused, never half applied', () => {
  const before = list('a', 'b', 'c');
  const after = before.slice();
  after[1] = { id: 'b', v: 7 };
  const delta = listDelta(before, after, key)!;
  const other = list('a', 'x', 'c');
  assert.throws(() => applyListDelta(other, delta, key), { code: 'STICKY_ERR_SNAPSHOT_DELTA' });
  assert.throws(() => applyListDelta(list('a'), delta, key), { code: 'STICKY_ERR_SNAPSHOT_DELTA' });
  const holes = { length: 2, keep: [0, 1, 0], put: [], at: [], from: [] };
  assert.throws(() => applyListDelta(list('a', 'b'), holes, key), { code: 'STICKY_ERR_SNAPSHOT_DELTA' });
});

test('listener certificates: kept when the same, dropped when gone, sent when new', () => {
  const empty = { hosts: [], backends: [], certificates: [] };
  const l1 = [{ hostname: '*.a.test', certificate: 'ns/a' }];
  const a = finalizeSnapshot({ ...empty, listenerCertificates: l1 }, 1);
  const b = finalizeSnapshot(
    { ...empty, listenerCertificates: a.listenerCertificates!, defaultCertificate: 'ns/d' },
    2,
  );
  const sameLists = snapshotChanges(a, b);
  assert.equal('listenerCertificates' in sameLists, false);
  const receiver = structuredClone(a);
  const gotB = applySnapshotChanges(receiver, structuredClone(sameLists));
  assert.equal(gotB.listenerCertificates, receiver.listenerCertificates, 'the receiver keeps its own list');
  assert.equal(gotB.defaultCertificate, 'ns/d');
  const c = finalizeSnapshot({ ...empty }, 3);
  const gone = snapshotChanges(b, c);
  assert.equal(gone.listenerCertificates, null);
  const gotC = applySnapshotChanges(gotB, structuredClone(gone));
  assert.equal(gotC.listenerCertificates, undefined);
  assert.equal(gotC.defaultCertificate, undefined);
  const d = finalizeSnapshot({ ...empty, listenerCertificates: [{ hostname: '*', certificate: 'ns/e' }] }, 4);
  const gotD = applySnapshotChanges(gotC, structuredClone(snapshotChanges(c, d)));
  assert.deepEqual(gotD.listenerCertificates, d.listenerCertificates);
  assert.equal(gotD.hash, d.hash);
  assert.ok(Object.isFrozen(gotD.listenerCertificates![0]));
});
