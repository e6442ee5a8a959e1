import { z } from 'zod';
import type { NextUpstream } from '../../snapshot/types.ts';
import { defineGroup, uint } from './descriptor.ts';

/** ingress-nginx's `proxy-next-upstream` tokens (nginx proxy_next_upstream, minus the cache-only `updating`). */
export const NEXT_UPSTREAM_TOKENS = [
  'error',
  'timeout',
  'invalid_header',
  'http_500',
  'http_502',
  'http_503',
  'http_504',
  'http_403',
  'http_404',
  'http_429',
  'non_idempotent',
  'off',
] as const;

// Space-separated as nginx writes it; `off` only alone. Any other word refuses the Ingress (never ignored).
const nextUpstreamTokens = z
  .string()
  .max(256)
  .transform((v) => v.split(/\s+/).filter((t) => t !== ''))
  .pipe(
    z
      .array(z.enum(NEXT_UPSTREAM_TOKENS))
      .min(1)
      .refine((t) => !t.includes('off') || t.length === 1, '`off` stands alone'),
  );

/** Timeouts and retries of the proxy towards the backend. */
export const proxyGroup = defineGroup({
  name: 'proxy',
  schema: z.object({
    'proxy-connect-timeout': uint(1, 300).default(5),
    'proxy-read-timeout': uint(1, 86_400).default(60),
    'websocket-idle-timeout': uint(1, 86_400).default(3600),
    'proxy-next-upstream-tries': uint(0, 11).default(3),
    'proxy-next-upstream': nextUpstreamTokens.optional(),
    'proxy-next-upstream-timeout': uint(0, 86_400).default(0),
  }),
  descriptors: [
    {
      key: 'proxy-connect-timeout',
      nginx: true,
      values: 'whole seconds, 1 to 300',
      description: 'TCP connect timeout towards an endpoint.',
      risk: 'Low',
    },
    {
      key: 'proxy-read-timeout',
      nginx: true,
      values: 'whole seconds, 1 to 86400',
      description: 'Time allowed for the response headers, and between two reads of the response body.',
      risk: 'Low',
      differs: 'does not close idle WebSockets (websocket-idle-timeout does, default 3600 s)',
    },
    {
      key: 'websocket-idle-timeout',
      nginx: false,
      values: 'whole seconds, 1 to 86400',
      description: 'An upgraded (WebSocket) connection with no traffic either way is closed after this long.',
      risk: 'Low',
    },
    {
      key: 'proxy-next-upstream-tries',
      nginx: true,
      values: 'an integer, 0 to 11',
      description:
        'Tries in all, the first included, as in ingress-nginx: a try that fails as proxy-next-upstream says goes to the next endpoint. 3 = 2 retries; 0 = 10 retries (the cap).',
      risk: 'Low',
    },
    {
      key: 'proxy-next-upstream',
      nginx: true,
      values: `space-separated: ${NEXT_UPSTREAM_TOKENS.join(', ')} (off alone)`,
      default: 'error timeout',
      description:
        'When a try goes to another endpoint: `error` (connect failed, or the connection broke before a response head), `timeout` (connect or response-head timeout), `invalid_header` (unparsable response), `http_NNN` (that status; the response head is held until decided, so the client never sees the dropped one), `off` (never). After the request was sent, POST, LOCK and PATCH are retried only with `non_idempotent`. The same rule serves WebSocket upgrades (connect failures). An unknown word refuses the Ingress.',
      risk: 'Medium',
      refuseInvalid: true,
      differs:
        'after a request was sent, only requests without a body are retried (bodies are streamed, never buffered); http_5xx answers do not count toward passive ejection',
    },
    {
      key: 'proxy-next-upstream-timeout',
      nginx: true,
      values: 'whole seconds, 0 to 86400; 0 = no limit',
      description:
        'No retry starts once this long has passed since the request arrived (nginx proxy_next_upstream_timeout).',
      risk: 'Low',
    },
  ],
});

/** Typed result of the proxy group. */
export type ProxyAnnotations = z.output<typeof proxyGroup.schema>;

/**
 * The backend's nextUpstream policy from the annotations, or undefined for ingress-nginx's default
 * (`error timeout`, no time limit), which the dataplane applies when the field is absent.
 */
export function nextUpstreamPolicy(p: ProxyAnnotations): NextUpstream | undefined {
  const tokens = p['proxy-next-upstream'];
  const timeoutMs = p['proxy-next-upstream-timeout'] * 1000;
  if (tokens === undefined && timeoutMs === 0) return undefined;
  const on = new Set<string>(tokens ?? ['error', 'timeout']);
  return {
    error: on.has('error'),
    timeout: on.has('timeout'),
    invalidHeader: on.has('invalid_header'),
    statuses: [...on]
      .filter((t) => t.startsWith('http_'))
      .map((t) => Number(t.slice(5)))
      .sort((a, b) => a - b),
    nonIdempotent: on.has('non_idempotent'),
    timeoutMs,
  };
}

/** Retries after the first try: `tries - 1`, with ingress-nginx's 0 (unlimited) capped at 10. */
export function retriesFromTries(tries: number): number {
  return tries === 0 ? 10 : tries - 1;
}
