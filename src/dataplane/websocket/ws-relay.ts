import type { Socket } from 'node:net';

/**
 * Byte relay between the two sockets of an open tunnel, with backpressure and half-close. Every handler is a
 * module-level function that finds the other socket through one symbol property, so an idle tunnel costs no
 * closures (stream.pipe() allocates about ten per direction).
 */

const kPeer = Symbol('sticky.peer');
type Linked = Socket & { [kPeer]?: Socket };

/** After one side closed, how long the other gets to flush what it still holds before it is destroyed. */
const FLUSH_DEADLINE_MS = 10_000;

/** Relays bytes both ways between `a` and `b` until both are closed; either closing ends the other. */
export function relay(a: Socket, b: Socket): void {
  link(a, b);
  link(b, a);
}

function link(from: Linked, to: Socket): void {
  from[kPeer] = to;
  from.on('end', onEnd);
  from.on('drain', onDrain);
  from.on('close', onClose);
  // 'close' follows an error; the owner may already listen (one listener, not an array, per socket).
  if (from.listenerCount('error') === 0) from.on('error', ignore);
  from.on('data', onData);
}

function onData(this: Linked, chunk: Buffer): void {
  const peer = this[kPeer];
  if (peer !== undefined && !peer.write(chunk)) this.pause();
}

/** This socket flushed what the peer wrote to it: the peer may read again. */
function onDrain(this: Linked): void {
  this[kPeer]?.resume();
}

/** Half-close travels: a FIN from one side becomes a FIN to the other once the data before it is written. */
function onEnd(this: Linked): void {
  const peer = this[kPeer];
  if (peer !== undefined && !peer.writableEnded) peer.end();
}

function onClose(this: Linked): void {
  const peer = this[kPeer];
  this[kPeer] = undefined;
  if (peer === undefined || peer.destroyed) return;
  peer.destroySoon();
  if (peer.destroyed) return;
  // A peer that never reads would hold its socket forever waiting to flush.
  peer.setTimeout(FLUSH_DEADLINE_MS);
  peer.once('timeout', destroyOnTimeout);
}

function destroyOnTimeout(this: Socket): void {
  this.destroy();
}

function ignore(): void {}
