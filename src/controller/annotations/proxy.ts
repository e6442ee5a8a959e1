import { z } from 'zod';
import { defineGroup, uint } from './descriptor.ts';

/** Timeouts and retries of the proxy towards the backend. */
export const proxyGroup = defineGroup({
  name: 'proxy',
  schema: z.object({
    'proxy-connect-timeout': uint(1, 300).default(5),
    'proxy-read-timeout': uint(1, 86_400).default(60),
    'websocket-idle-timeout': uint(1, 86_400).default(3600),
    'proxy-next-upstream-tries': uint(0, 11).default(3),
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
        'Tries in all, the first included, as in ingress-nginx: on a connect failure (nothing sent yet) the next endpoint is tried. 3 = 2 retries; 0 = 10 retries (the cap).',
      risk: 'Low',
    },
  ],
});

/** Typed result of the proxy group. */
export type ProxyAnnotations = z.output<typeof proxyGroup.schema>;

/** Retries after the first try: `tries - 1`, with ingress-nginx's 0 (unlimited) capped at 10. */
export function retriesFromTries(tries: number): number {
  return tries === 0 ? 10 : tries - 1;
}
