import { z } from 'zod';
import type { AnnotationGroup } from './descriptor.ts';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
// nginx size syntax: a number with an optional k/m/g suffix (either case). Bounded to 64 GiB.
const SIZE = z
  .string()
  .regex(/^\d{1,9}[kKmMgG]?$/, 'a size such as 8m')
  .transform((v) => Number(v.replace(/[kKmMgG]$/, '')) * (UNITS[v.slice(-1).toLowerCase()] ?? 1))
  .pipe(
    z
      .number()
      .int()
      .min(0)
      .max(64 * 1024 ** 3),
  );

/** Request body size (ingress-nginx `proxy-body-size`, nginx `client_max_body_size`). */
export const bodySizeGroup = {
  name: 'body size',
  schema: z.object({
    'proxy-body-size': SIZE.optional(),
    'client-body-buffer-size': SIZE.optional(),
  }),
  descriptors: [
    {
      key: 'proxy-body-size',
      nginx: true,
      values: 'bytes with an optional k, m or g suffix; 0 = unlimited',
      default: 'unlimited',
      description:
        'A request whose Content-Length is larger gets 413 before anything reaches the backend; a chunked body that grows larger is cut and answered 413 when nothing was answered yet.',
      risk: 'Low',
      differs:
        'without the annotation there is no limit (ingress-nginx applies its ConfigMap default, 1m): bodies are streamed, never buffered',
    },
    {
      key: 'client-body-buffer-size',
      nginx: true,
      values: 'bytes with an optional k, m or g suffix',
      default: 'none',
      description: 'Accepted for compatibility and not used: request bodies are streamed, never buffered.',
      risk: 'Low',
    },
  ],
} satisfies AnnotationGroup<z.ZodObject>;

/** Typed result of the body-size group. */
export type BodySizeAnnotations = z.output<typeof bodySizeGroup.schema>;
