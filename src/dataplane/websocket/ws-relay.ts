import type { Socket } from 'node:net';
import { closeFrame, FrameCursor } from './ws-frames.ts';

/**
 * Byte relay between the two sockets of an open tunnel, with backpressure and half-close. Every handler is a
 * module-level function that finds the other socket through one symbol property, so an idle tunnel costs no
 * closures (stream.pipe() allocates about ten per direction). For a WebSocket stream each direction also
 * follows frame boundaries (ws-frames.ts), so going away can close it cleanly without splitting a frame.
 */

const kPeer = Symbol('sticky.peer');
const kDir = Symbol('sticky.direction');
type Linked = Socket & { [kPeer]?: Linked; [kDir]?: Direction };

/** After one side closed, how long the other gets to flush what it still holds before it is destroyed. */
const FLUSH_DEADLINE_MS = 10_000;
/** RFC 6455 7.4.1: 1001, an endpoint going away (a server shutting down). */
const GOING_AWAY = 1001;

const RELAY = 0;
/** Going away: forward up to the end of the frame in flight, then send the peer a close frame. */
const CLOSING = 1;
/** The close frame went to the peer: bytes from this side are dropped, only its close frame is looked for. */
const CLOSED = 2;

/** One direction of a WebSocket tunnel: where its frames end, and how far going away has got. */
class Direction extends FrameCursor {
  state = RELAY;
  /** Frames we write to the peer are masked: the peer is the backend, and we are its client (RFC 6455 5.3). */
  readonly maskToPeer: boolean;

  constructor(maskToPeer: boolean) {
    super();
    this.maskToPeer = maskToPeer;
  }
}

/**
 * Relays bytes both ways between `client` and `upstream` until both are closed; either closing ends the other.
 * `frames`: the stream is WebSocket frames (the 101 said so), so goAway() can close it cleanly. `clientEarly` /
 * `upstreamEarly`: bytes each side sent before the relay began, forwarded (and followed) first.
 */
export function relay(
  client: Socket,
  upstream: Socket,
  frames: boolean,
  clientEarly: Buffer,
  upstreamEarly: Buffer,
): void {
  link(client, upstream, frames ? new Direction(true) : undefined);
  link(upstream, client, frames ? new Direction(false) : undefined);
  if (upstreamEarly.length > 0) onData.call(upstream, upstreamEarly);
  if (clientEarly.length > 0) onData.call(client, clientEarly);
}

/**
 * Starts a clean close of a WebSocket relay (RFC 6455 7.1.2): each direction, at its next frame boundary, gets
 * a close frame 1001 instead of further bytes; each socket is ended once it answered with its own close (or
 * FIN). Returns false, doing nothing, when the relay does not carry WebSocket frames.
 */
export function goAway(client: Socket): boolean {
  const c = client as Linked;
  const upstream = c[kPeer] as Linked | undefined;
  const toUp = c[kDir];
  const toClient = upstream?.[kDir];
  if (upstream === undefined || toUp === undefined || toClient === undefined) return false;
  for (const [from, dir] of [
    [upstream, toClient],
    [c, toUp],
  ] as const) {
    if (dir.state !== RELAY) continue;
    dir.state = CLOSING;
    if (dir.atBoundary) sendClose(from, dir);
  }
  return true;
}

function link(from: Linked, to: Socket, dir: Direction | undefined): void {
  from[kPeer] = to;
  from[kDir] = dir;
  from.on('end', onEnd);
  from.on('drain', onDrain);
  from.on('close', onClose);
  // 'close' follows an error; the owner may already listen (one listener, not an array, per socket).
  if (from.listenerCount('error') === 0) from.on('error', ignore);
  from.on('data', onData);
}

function onData(this: Linked, chunk: Buffer): void {
  const peer = this[kPeer];
  if (peer === undefined) return;
  const dir = this[kDir];
  if (dir === undefined) {
    if (!peer.write(chunk)) this.pause();
    return;
  }
  if (dir.state === RELAY) {
    dir.advance(chunk, 0, false);
    if (!peer.write(chunk)) this.pause();
    return;
  }
  if (dir.state === CLOSING) {
    // Never split a frame: what belongs to the frame in flight goes through whole, the rest is dropped.
    const end = dir.advance(chunk, 0, true);
    if (end > 0 && !peer.write(end === chunk.length ? chunk : chunk.subarray(0, end))) this.pause();
    if (!dir.atBoundary) return;
    sendClose(this, dir);
    if (end < chunk.length) dir.advance(chunk, end, false);
  } else dir.advance(chunk, 0, false);
  endIfAnswered(this);
}

/** The close frame goes to the peer of `from`; from then on `from`'s bytes are only read for its close reply. */
function sendClose(from: Linked, dir: Direction): void {
  const peer = from[kPeer];
  dir.state = CLOSED;
  if (peer?.writable) peer.write(closeFrame(GOING_AWAY, 'going away', dir.maskToPeer));
  // Nothing more is written to the peer: a read paused for its backpressure may go on, to see the reply.
  from.resume();
  if (peer !== undefined) endIfAnswered(peer as Linked);
}

/**
 * Ends `socket` once the closing handshake with it is complete: our close frame went to it and its own close
 * frame (or its FIN) came back. RFC 6455 7.1.1: then the TCP connection may be closed.
 */
function endIfAnswered(socket: Linked): void {
  const own = socket[kDir];
  const into = (socket[kPeer] as Linked | undefined)?.[kDir];
  if (own === undefined || into?.state !== CLOSED || socket.writableEnded) return;
  if (own.closeSeen || socket.readableEnded) socket.end();
}

/** This socket flushed what the peer wrote to it: the peer may read again. */
function onDrain(this: Linked): void {
  this[kPeer]?.resume();
}

/** Half-close travels: a FIN from one side becomes a FIN to the other once the data before it is written. */
function onEnd(this: Linked): void {
  const peer = this[kPeer];
  if (peer !== undefined && !peer.writableEnded) peer.end();
  endIfAnswered(this);
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
