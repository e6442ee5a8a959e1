import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applySnapshotChanges, snapshotChanges } from '../../src/snapshot/delta.ts';
import { finalizeSnapshot } from '../../src/snapshot/hash.ts';
import { applyListDelta, listDelta } from '../../src/snapshot/list-delta.ts';

type Part = { id: string; v: number };
const key = (p: Part) => p.id;
const list = (...ids: string[]): Part[] => ids.map((id) => ({ id, v: 0 }));

test('a replaced entry travels alone, with its position; the rest stay the receiver’s objects', () => {
  const before = list('a', 'b', 'c', 'd');
  const after = before.slice();
  after[2] = { id: 'c', v: 1 };
  const delta = listDelta(before, after, key);
  assert.deepEqual(delta, { put: [{ id: 'c', v: 1 }], at: [2] });
  const receiver = structuredClone(before);
  const out = applyListDelta(receiver, structuredClone(delta), key);
  assert.deepEqual(out, after);
  assert.equal(out[0], receiver[0]);
  assert.equal(out[3], receiver[3]);
  assert.equal(listDelta(before, before.slice(), key), undefined, 'same entries: no delta');
  assert.equal(applyListDelta(receiver, undefined, key), receiver, 'no delta: the same array');
});

test('an added or removed key sends the order and only the new entries', () => {
  const before = list('a', 'c', 'd');
  const added = [before[0]!, { id: 'b', v: 0 }, before[1]!, before[2]!];
  const delta = listDelta(before, added, key);
  assert.deepEqual(delta, { keys: ['a', 'b', 'c', 'd'], put: [{ id: 'b', v: 0 }] });
  assert.deepEqual(applyListDelta(before, delta, key), added);
  const removed = listDelta(before, [before[0]!, before[2]!], key);
  assert.deepEqual(removed, { keys: ['a', 'd'], put: [] });
  assert.deepEqual(applyListDelta(before, removed, key), [before[0], before[2]]);
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
  assert.throws(() => applyListDelta(list('a'), { keys: ['a', 'z'], put: [] }, key), {
    code: 'STICKY_ERR_SNAPSHOT_DELTA',
  });
  assert.throws(() => applyListDelta(list('a'), { put: [{ id: 'a', v: 1 }] }, key), {
    code: 'STICKY_ERR_SNAPSHOT_DELTA',
  });
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
