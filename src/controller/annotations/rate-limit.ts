import { z } from 'zod';
import { parseCidrList } from '../../shared/cidr.ts';
import { type AnnotationGroup, uint } from './descriptor.ts';

const CIDRS = z.string().refine((s) => 'cidrs' in parseCidrList(s), 'a comma-separated list of CIDRs');

/**
 * Per-client-address limits (ingress-nginx `limit-*`, nginx limit_req / limit_conn): above them, 503.
 * An invalid value refuses the Ingress: falling back to "no limit" would admit what the author meant to cap.
 */
export const rateLimitGroup = {
  name: 'rate limits',
  schema: z.object({
    'limit-rps': uint(1, 1_000_000).optional(),
    'limit-rpm': uint(1, 60_000_000).optional(),
    'limit-connections': uint(1, 1_000_000).optional(),
    'limit-burst-multiplier': uint(1, 1000).default(5),
    'limit-whitelist': CIDRS.optional(),
  }),
  descriptors: [
    {
      key: 'limit-rps',
      nginx: true,
      values: 'requests per second, 1 to 1000000',
      default: 'none',
      description:
        'Requests per second accepted from one client address, with bursts of limit-rps x limit-burst-multiplier; above that, 503.',
      risk: 'Low',
      refuseInvalid: true,
      differs:
        'counted per dataplane process: with --workers N each worker admits limit / N (rounded up), so the total is about the limit when the kernel spreads connections evenly',
    },
    {
      key: 'limit-rpm',
      nginx: true,
      values: 'requests per minute, 1 to 60000000',
      default: 'none',
      description:
        'Requests per minute accepted from one client address (burst: x limit-burst-multiplier); above, 503.',
      risk: 'Low',
      refuseInvalid: true,
      differs: 'counted per dataplane process, as limit-rps',
    },
    {
      key: 'limit-connections',
      nginx: true,
      values: 'an integer, 1 to 1000000',
      default: 'none',
      description:
        'Requests in progress at once from one client address (open WebSocket tunnels not counted); above, 503.',
      risk: 'Low',
      refuseInvalid: true,
      differs: 'counts requests in progress rather than connections, per dataplane process',
    },
    {
      key: 'limit-burst-multiplier',
      nginx: true,
      values: 'an integer, 1 to 1000',
      default: '5',
      description: 'Burst size of limit-rps and limit-rpm, as a multiple of the rate.',
      risk: 'Low',
      refuseInvalid: true,
    },
    {
      key: 'limit-whitelist',
      nginx: true,
      values: 'comma-separated IPv4/IPv6 CIDRs or addresses',
      default: 'none',
      description: 'Client addresses never limited.',
      risk: 'Low',
      refuseInvalid: true,
    },
  ],
} satisfies AnnotationGroup<z.ZodObject>;

/** Typed result of the rate-limit group. */
export type RateLimitAnnotations = z.output<typeof rateLimitGroup.schema>;
