import { z } from 'zod';
import { defineGroup } from './descriptor.ts';
import { HASH_BY_MAX_LENGTH, parseHashBy } from './hash-by.ts';

// ingress-nginx spells its algorithms differently; `ewma` (latency-weighted) is closest to least-conn.
const NGINX_BALANCERS: Readonly<Record<string, string>> = { round_robin: 'round-robin', ewma: 'least-conn' };

/** Load balancing of requests (and new affinity sessions) across a backend's endpoints. */
export const loadBalanceGroup = defineGroup({
  name: 'load-balance',
  schema: z.object({
    'load-balance': z.enum(['round-robin', 'least-conn', 'random-two', 'source-ip']).default('round-robin'),
    'upstream-hash-by': z
      .string()
      .max(HASH_BY_MAX_LENGTH)
      .refine(
        (v) => 'parts' in parseHashBy(v),
        'a template of $remote_addr, $request_uri, $http_NAME, $cookie_NAME and text',
      )
      .optional(),
  }),
  descriptors: [
    {
      key: 'load-balance',
      nginx: true,
      values: 'round-robin, least-conn, random-two, source-ip',
      description:
        'How an endpoint is picked for requests without affinity. source-ip: a consistent hash (Maglev) of the client address (after PROXY protocol or trusted X-Forwarded-For), so a client keeps its endpoint while the endpoint set is unchanged and about 1/N of clients move when one of N endpoints comes or goes (HAProxy `balance source`). ingress-nginx values: round_robin = round-robin, ewma = least-conn.',
      risk: 'Low',
      differs: 'ewma is served as least-conn (no latency weighting)',
    },
    {
      key: 'upstream-hash-by',
      nginx: true,
      values:
        'template: $remote_addr, $request_uri, $http_NAME, $cookie_NAME and fixed text, e.g. `$http_x_tenant-$cookie_team`',
      default: 'absent (no hashing)',
      description:
        'Consistent hash (Maglev) of this key picks the endpoint, overriding load-balance; requests with equal keys reach the same endpoint. An absent header or cookie counts as empty text. The template is parsed into parts, never evaluated. A cookie-affinity annotation still wins for requests that carry a valid cookie.',
      risk: 'Medium',
    },
  ],
  fromNginx: { 'load-balance': (v: string) => NGINX_BALANCERS[v] ?? v },
});

/** Typed result of the load-balance group. */
export type LoadBalanceAnnotations = z.output<typeof loadBalanceGroup.schema>;
