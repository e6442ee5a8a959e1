import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffList } from '../../src/dataplane/snapshot-diff.ts';

const key = (x: { id: string }) => x.id;
const item = (id: string, v = 0) => Object.freeze({ id, v });
const list = <T>(...xs: T[]) => Object.freeze(xs);

test('diffList: by identity, a replacement under its key is removed and added', () => {
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => item(id)) as [
    ReturnType<typeof item>,
    ReturnType<typeof item>,
    ReturnType<typeof item>,
    ReturnType<typeof item>,
  ];
  const before = list(a, b, c);
  assert.deepEqual(diffList(before, before, key), { removed: [], added: [] });
  const b2 = item('b', 1);
  const after = list(b2, c, d);
  assert.deepEqual(diffList(before, after, key), { removed: [a, b], added: [b2, d] });
  // An equal object that is not the same one is a replacement: content is never compared.
  const c2 = item('c');
  assert.deepEqual(diffList(after, list(b2, c2, d), key), { removed: [c], added: [c2] });
});

test('diffList: lists not strictly sorted, or not frozen, are refused (the caller reconciles in full)', () => {
  const [a, b, c] = ['a', 'b', 'c'].map((id) => item(id)) as [
    ReturnType<typeof item>,
    ReturnType<typeof item>,
    ReturnType<typeof item>,
  ];
  const before = list(a, b);
  assert.equal(diffList(before, list(b, a), key), undefined, 'out of order');
  assert.equal(diffList(before, list(a, item('a', 2), b), key), undefined, 'a key twice');
  assert.equal(diffList(before, list(a, c, b), key), undefined, 'an addition out of place');
  assert.equal(diffList(list(b, a), list(a, b), key), undefined, 'the previous list out of order');
  assert.equal(diffList(before, [a, b, c], key), undefined, 'not frozen');
  // Objects taken over in the same order need no key comparison, but one moved ahead of them is caught.
  assert.equal(diffList(list(a, b, c), list(c, a, b), key), undefined, 'moved to the front');
});
