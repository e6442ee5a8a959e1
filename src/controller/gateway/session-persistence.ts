import { createHash } from 'node:crypto';
import type { AffinityPolicy, Draft } from '../../snapshot/types.ts';
import { isRecord, str } from '../build/meta.ts';

/**
 * HTTPRoute `rules[].sessionPersistence` (GEP-1619) -> our cookie affinity. Two shapes are read, both
 * normalised first into `SessionSpec`, so a further API change touches `normalise` only:
 * - v1.7+ (tagged union): `{type, absoluteTimeout, cookie: {name, path, lifetimeType}, header: {name}}`;
 * - v1.1 to v1.6: `{sessionName, type, absoluteTimeout, idleTimeout, cookieConfig: {lifetimeType}}`.
 */

/** The one shape the mapping reads. */
export interface SessionSpec {
  type: 'Cookie' | 'Header';
  name: string | undefined;
  path: string | undefined;
  lifetimeType: 'Session' | 'Permanent';
  absoluteTimeout: string | undefined;
  idleTimeout: string | undefined;
}

/** What one sessionPersistence became: the affinity (absent when none can be served) and what was not honoured. */
export interface SessionMapping {
  affinity?: AffinityPolicy;
  /** `UnsupportedValue` problems: field (relative to the sessionPersistence) and why. */
  problems: { field: string; message: string }[];
}

/** Either released shape -> SessionSpec; undefined when `raw` is not an object. */
export function normalise(raw: unknown): SessionSpec | undefined {
  if (!isRecord(raw)) return undefined;
  const cookie = isRecord(raw.cookie) ? raw.cookie : undefined;
  const legacy = isRecord(raw.cookieConfig) ? raw.cookieConfig : undefined;
  const header = isRecord(raw.header) ? raw.header : undefined;
  const type = raw.type === 'Header' ? 'Header' : 'Cookie';
  const lifetime = cookie?.lifetimeType ?? legacy?.lifetimeType;
  return {
    type,
    name: str(type === 'Header' ? header?.name : cookie?.name) ?? str(raw.sessionName),
    path: str(cookie?.path),
    lifetimeType: lifetime === 'Permanent' ? 'Permanent' : 'Session',
    absoluteTimeout: str(raw.absoluteTimeout),
    idleTimeout: str(raw.idleTimeout),
  };
}

/**
 * Maps sessionPersistence onto cookie affinity. `owner` (`ns/name/rule`) seeds the generated cookie name when
 * none is given (the spec: "a unique cookie name SHOULD be generated"). Never throws.
 */
export function sessionAffinity(raw: unknown, owner: string): SessionMapping {
  const spec = normalise(raw);
  const problems: SessionMapping['problems'] = [];
  if (spec === undefined)
    return { problems: [{ field: '', message: 'sessionPersistence is not an object' }] };
  if (spec.type === 'Header') {
    // Our affinity state is a keyed hash carried by the client; a header would need the client to echo it,
    // which browsers and socket.io clients do not do. Not served rather than served half-way.
    return { problems: [{ field: 'type', message: 'type Header is not supported; no session persistence' }] };
  }
  if (spec.idleTimeout !== undefined)
    problems.push({
      field: 'idleTimeout',
      message: 'idleTimeout is not supported (the cookie carries no last-use time)',
    });
  let maxAgeSeconds: number | undefined;
  if (spec.absoluteTimeout !== undefined) {
    const ms = safeDuration(spec.absoluteTimeout);
    if (ms === undefined)
      problems.push({ field: 'absoluteTimeout', message: `invalid duration ${spec.absoluteTimeout}` });
    else if (spec.lifetimeType === 'Permanent') maxAgeSeconds = Math.max(1, Math.floor(ms / 1000));
    else
      problems.push({
        field: 'absoluteTimeout',
        message: 'absoluteTimeout with a Session cookie is not enforced (the gateway keeps no session table)',
      });
  } else if (spec.lifetimeType === 'Permanent') {
    problems.push({
      field: 'absoluteTimeout',
      message: 'lifetimeType Permanent needs absoluteTimeout; a session cookie is used',
    });
  }
  const cookie: Draft<AffinityPolicy['cookie']> = {
    name: spec.name ?? generatedName(owner),
    path: spec.path ?? '/',
    secure: 'auto',
    httpOnly: true,
  };
  if (maxAgeSeconds !== undefined) cookie.maxAgeSeconds = maxAgeSeconds;
  // balanced: a session moves when its endpoint is gone or unhealthy (GEP-1619: sessions to an unavailable
  // backend are re-established elsewhere), and a connect failure re-picks and re-issues the cookie.
  return { affinity: { cookie, mode: 'balanced', changeOnFailure: true }, problems };
}

function generatedName(owner: string): string {
  return `gw-session-${createHash('sha256').update(owner).digest('hex').slice(0, 10)}`;
}

// Gateway API Duration (GEP-2257): up to four `<1-5 digits><h|m|s|ms>` parts, e.g. `1h30m`, `500ms`.
const GEP_DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const PART = /([0-9]{1,5})(h|ms|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds of a Gateway API Duration, or undefined when it is not one or is zero. */
export function gatewayDurationMs(text: string): number | undefined {
  if (!GEP_DURATION.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
  return ms > 0 ? ms : undefined;
}

const safeDuration = gatewayDurationMs;
