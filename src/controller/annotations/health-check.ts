import { z } from 'zod';
import { defineGroup, uint } from './descriptor.ts';

/** Active HTTP health checks, off unless a path is set. Passive ejection is always on. */
export const healthCheckGroup = defineGroup({
  name: 'health-check',
  schema: z.object({
    'health-check-path': z
      .string()
      .regex(/^\/[^\s]{0,1023}$/)
      .optional(),
    'health-check-interval': uint(1, 3600).default(10),
  }),
  descriptors: [
    {
      key: 'health-check-path',
      nginx: false,
      values: 'an absolute path without spaces',
      default: 'absent (no active checks)',
      description:
        'GET this path on every endpoint; 2xx/3xx is healthy. Unhealthy endpoints get no new sessions.',
      risk: 'Low',
    },
    {
      key: 'health-check-interval',
      nginx: false,
      values: 'whole seconds, 1 to 3600',
      description: 'Seconds between two checks of one endpoint (timeout: the interval, at most 2 s).',
      risk: 'Low',
    },
  ],
});

/** Typed result of the health-check group. */
export type HealthCheckAnnotations = z.output<typeof healthCheckGroup.schema>;
