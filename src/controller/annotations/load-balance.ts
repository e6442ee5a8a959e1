import { z } from 'zod';
import { defineGroup } from './descriptor.ts';

// ingress-nginx spells its algorithms differently; `ewma` (latency-weighted) is closest to least-conn.
const NGINX_BALANCERS: Readonly<Record<string, string>> = { round_robin: 'round-robin', ewma: 'least-conn' };

/** Load balancing of requests (and new affinity sessions) across a backend's endpoints. */
export const loadBalanceGroup = defineGroup({
  name: 'load-balance',
  schema: z.object({
    'load-balance': z.enum(['round-robin', 'least-conn', 'random-two']).default('round-robin'),
  }),
  descriptors: [
    {
      key: 'load-balance',
      nginx: true,
      values: 'round-robin, least-conn, random-two',
      description:
        'How an endpoint is picked for requests without affinity. ingress-nginx values: round_robin = round-robin, ewma = least-conn.',
      risk: 'Low',
      differs: 'ewma is served as least-conn (no latency weighting)',
    },
  ],
  fromNginx: { 'load-balance': (v: string) => NGINX_BALANCERS[v] ?? v },
});

/** Typed result of the load-balance group. */
export type LoadBalanceAnnotations = z.output<typeof loadBalanceGroup.schema>;
