import { randomInt } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestFacts } from '../routing/decide.ts';
import type { BackendState } from '../upstream/backend-state.ts';

type Details = Pick<RequestFacts, 'header' | 'cookie' | 'roll' | 'pinned'>;

/**
 * The request details the annotation rules read (issue 15): headers and cookies on demand (nothing is parsed
 * unless a route asks), a canary weight draw, and whether the affinity cookie pins a backend's endpoint.
 */
export function requestDetails(req: IncomingMessage): Details {
  return {
    header: (name) => {
      const v = req.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    cookie: (name) => cookieValue(req.headers.cookie, name),
    // 2^48 steps: a canary weight of 1 in 1,000,000 still gets its share (Math.random is not needed here).
    roll: randomInt(0, 2 ** 48 - 1) / 2 ** 48,
    pinned: (backend) => (backend as BackendState | undefined)?.pins(req.headers.cookie) ?? false,
  };
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4 pairs), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
