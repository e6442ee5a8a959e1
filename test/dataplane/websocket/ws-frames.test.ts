import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeFrame, FrameCursor } from '../../../src/dataplane/websocket/ws-frames.ts';

/** A frame header (`masked` adds a 4-byte key) for `length` payload bytes, in the shortest length form. */
function frame(opcode: number, length: number, masked: boolean): Buffer {
  const ext = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const h = Buffer.alloc(2 + ext + (masked ? 4 : 0) + length, 0x55);
  h[0] = 0x80 | opcode;
  h[1] = (masked ? 0x80 : 0) | (ext === 0 ? length : ext === 2 ? 126 : 127);
  if (ext === 2) h.writeUInt16BE(length, 2);
  if (ext === 8) h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

test('frame boundaries are found wherever the stream is cut, header bytes included', () => {
  const frames = [
    frame(1, 0, false),
    frame(2, 125, true),
    frame(2, 126, false),
    frame(9, 3, true),
    frame(2, 70_000, true),
    frame(8, 2, false),
  ];
  const stream = Buffer.concat(frames);
  const boundaries = new Set<number>();
  let sum = 0;
  for (const f of frames) {
    sum += f.length;
    boundaries.add(sum);
  }
  // Every split point of the stream into two reads, and byte-by-byte for the short head of it.
  const cuts = [...Array.from({ length: 400 }, (_, i) => i), stream.length - 3, stream.length - 1];
  for (const cut of cuts) {
    const c = new FrameCursor();
    c.advance(stream.subarray(0, cut), 0, false);
    c.advance(stream.subarray(cut), 0, false);
    assert.ok(c.atBoundary, `at the end after a cut at ${cut}`);
    assert.ok(c.closeSeen, 'the close frame was noticed');
  }
  const c = new FrameCursor();
  for (let i = 0; i < stream.length; i += 1) {
    c.advance(stream.subarray(i, i + 1), 0, false);
    assert.equal(c.atBoundary, boundaries.has(i + 1), `boundary after byte ${i}`);
  }
});

test('advance with stop returns the first boundary, inside one read', () => {
  const a = frame(2, 10, false);
  const b = frame(1, 4, false);
  const c = new FrameCursor();
  c.advance(a.subarray(0, 5), 0, false);
  assert.equal(c.advance(Buffer.concat([a.subarray(5), b]), 0, true), a.length - 5);
  assert.ok(c.atBoundary);
});

test('a partial header is copied, never a view of the read buffer', () => {
  const big = Buffer.alloc(65_536);
  big[65_535] = 0x82; // the first byte of a header, last byte of a large read
  const c = new FrameCursor();
  c.advance(big, 65_535, false);
  assert.equal(c.head?.length, 1);
  assert.notEqual(c.head?.buffer, big.buffer);
});

test('close frames: server frames unmasked, client frames masked, code and reason readable', () => {
  const plain = closeFrame(1001, 'going away', false);
  assert.equal(plain[0], 0x88);
  assert.equal(plain[1], 12);
  assert.equal(plain.readUInt16BE(2), 1001);
  assert.equal(plain.subarray(4).toString(), 'going away');
  const masked = closeFrame(1001, 'going away', true);
  assert.equal(masked[1], 0x80 | 12);
  const key = masked.subarray(2, 6);
  const payload = Buffer.from(masked.subarray(6).map((b, i) => b ^ (key[i % 4] as number)));
  assert.equal(payload.readUInt16BE(0), 1001);
  assert.equal(payload.subarray(2).toString(), 'going away');
});
