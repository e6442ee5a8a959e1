import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * socket.io sessions without cookies, statelessly: the engine.io sid the client sees is
 * `<endpoint token><tag><backend sid>`, where the token is the affinity cookie value of the endpoint that
 * opened the session and the tag an HMAC over both (so a sid cannot be forged to name another endpoint or
 * another session's token). Any replica or worker with the same affinity key restores the backend's sid;
 * no table is shared. A stolen sid reaches that session's pod and nothing more, like a stolen cookie.
 */

/** Length of the endpoint token (the affinity cookie value, affinity-cookie.ts). */
const TOKEN_LENGTH = 22;
/** 11 base64url characters = 66 bits of HMAC: forging one by guessing is out of reach. */
const TAG_LENGTH = 11;

function tagOf(key: Buffer, token: string, backendSid: string): string {
  return createHmac('sha256', key)
    .update(`eio-sid\0${token}\0${backendSid}`)
    .digest('base64url')
    .slice(0, TAG_LENGTH);
}

/** The sid handed to the client for the backend's `backendSid` on the endpoint named by `token`. */
export function sealSid(key: Buffer, token: string, backendSid: string): string {
  return token + tagOf(key, token, backendSid) + backendSid;
}

/** The endpoint token and backend sid of a sealed sid; undefined when it is not one of ours (forged, foreign). */
export function openSid(key: Buffer, sid: string): { token: string; backendSid: string } | undefined {
  if (sid.length <= TOKEN_LENGTH + TAG_LENGTH || sid.length > 512) return undefined;
  const token = sid.slice(0, TOKEN_LENGTH);
  const tag = sid.slice(TOKEN_LENGTH, TOKEN_LENGTH + TAG_LENGTH);
  const backendSid = sid.slice(TOKEN_LENGTH + TAG_LENGTH);
  const want = Buffer.from(tagOf(key, token, backendSid));
  const got = Buffer.from(tag);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  return { token, backendSid };
}

/** What the request target says about the engine.io session. */
export type SidRequest =
  /** No sid: a handshake when `handshake` (GET polling with EIO), else not engine.io at all. */
  | { kind: 'none'; handshake: boolean }
  /** A valid sealed sid: route by `token`, send `target` (the backend's own sid restored). */
  | { kind: 'sealed'; token: string; target: string }
  /** A sid that is not ours: answer an error rather than balance it onto a pod that does not know it. */
  | { kind: 'forged' };

/**
 * Reads the `sid` query parameter of an origin-form target (polling requests, the WebSocket upgrade and its
 * probe all carry it: engine.io-client transports/polling.ts and websocket.ts) and restores the backend's sid.
 */
export function sidOfTarget(key: Buffer, target: string, method: string): SidRequest {
  const q = target.indexOf('?');
  if (q < 0) return { kind: 'none', handshake: false };
  const params = target.slice(q + 1).split('&');
  let at = -1;
  for (let i = 0; i < params.length; i++) if (params[i]!.startsWith('sid=')) at = i;
  if (at < 0) {
    const handshake =
      method === 'GET' &&
      params.includes('transport=polling') &&
      params.some((p) => p === 'EIO=3' || p === 'EIO=4');
    return { kind: 'none', handshake };
  }
  let sid: string;
  try {
    sid = decodeURIComponent(params[at]!.slice(4));
  } catch {
    return { kind: 'forged' };
  }
  const opened = openSid(key, sid);
  if (opened === undefined) return { kind: 'forged' };
  params[at] = `sid=${encodeURIComponent(opened.backendSid)}`;
  return { kind: 'sealed', token: opened.token, target: `${target.slice(0, q)}?${params.join('&')}` };
}

/** Largest handshake body we buffer to rewrite; a real one is about 120 bytes. */
export const MAX_HANDSHAKE_BYTES = 8192;

/**
 * The handshake response body with its sid sealed, or undefined when it is not an engine.io open packet we
 * understand (then it is passed through untouched and the session relies on the cookie alone).
 * EIO 4: `0{"sid":...}` (engine.io-protocol v4); EIO 3: `<length>:0{"sid":...}` followed by more packets,
 * length in UTF-16 code units (engine.io-protocol v3 payload encoding).
 */
export function sealHandshake(body: string, seal: (backendSid: string) => string): string | undefined {
  const eio3 = /^(\d{1,6}):0\{/.exec(body);
  const start = eio3 ? eio3[1]!.length + 1 : 0;
  if (body.charCodeAt(start) !== 48 /* 0 */ || body.charCodeAt(start + 1) !== 123 /* { */) return undefined;
  const length = eio3 ? Number(eio3[1]) : body.length - start;
  const packet = body.slice(start, start + length);
  if (packet.length !== length) return undefined;
  let open: unknown;
  try {
    open = JSON.parse(packet.slice(1));
  } catch {
    return undefined;
  }
  if (typeof open !== 'object' || open === null || typeof (open as { sid?: unknown }).sid !== 'string')
    return undefined;
  const rewritten = `0${JSON.stringify({ ...open, sid: seal((open as { sid: string }).sid) })}`;
  if (!eio3) return rewritten;
  return `${rewritten.length}:${rewritten}${body.slice(start + length)}`;
}
