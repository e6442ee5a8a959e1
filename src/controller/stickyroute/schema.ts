import { z } from 'zod';
import { parseCidr } from '../../shared/cidr.ts';
import { DURATION_HINT, DURATION_PATTERN } from '../../shared/duration.ts';
import { HASH_BY_MAX_LENGTH, parseHashBy } from '../annotations/hash-by.ts';

/**
 * The StickyRoute custom resource (sticky-ingress.dev/v1alpha1), as zod schemas. The builder validates every
 * object with `stickyRouteSpecSchema.safeParse`; `scripts/gen-crd.ts` derives the CRD's OpenAPI schema from it.
 */

export const STICKYROUTE_GROUP = 'sticky-ingress.dev';
export const STICKYROUTE_VERSION = 'v1alpha1';
export const STICKYROUTE_KIND = 'StickyRoute';
export const STICKYROUTE_PLURAL = 'stickyroutes';

// RFC 1123 host names, optionally with one leading `*.` label (like Ingress rules).
const hostname = z
  .string()
  .max(253)
  .regex(
    /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'a lower-case DNS name, optionally starting with "*." (e.g. chat.example.com, *.example.com)',
  );

const duration = z
  .string()
  .regex(DURATION_PATTERN, DURATION_HINT)
  .describe('A duration: an integer followed by ms, s, m or h.');

const servicePort = z
  .union([
    z.number().int().min(1).max(65535),
    z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Service port name (IANA_SVC_NAME)')
      .max(15),
  ])
  .describe('The Service port: its number (spec.ports[].port) or its name.');

const cookieSchema = z
  .object({
    name: z
      .string()
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'an RFC 6265 cookie name (token characters only)')
      .max(64)
      .default('INGRESSCOOKIE'),
    path: z
      .string()
      .regex(/^\/[^;\s]*$/, 'an absolute path without ";" or spaces')
      .optional()
      .describe("Cookie Path; defaults to the route's path (without its trailing slash)."),
    domain: z
      .string()
      .regex(/^\.?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a lower-case domain name')
      .optional(),
    maxAgeSeconds: z.number().int().min(1).max(31_536_000).optional().describe('Absent: a session cookie.'),
    sameSite: z.enum(['Strict', 'Lax', 'None']).optional(),
    secure: z
      .enum(['auto', 'always'])
      .default('auto')
      .describe('auto: Secure when the request came over HTTPS; always: always Secure.'),
    httpOnly: z.boolean().default(true),
  })
  .strict();

const affinitySchema = z
  .object({
    type: z.literal('Cookie').default('Cookie'),
    cookie: cookieSchema.prefault({}), // absent = {}: cookieSchema's field defaults are the only ones
    mode: z
      .enum(['balanced', 'persistent', 'drainable'])
      .default('balanced')
      .describe(
        'balanced: re-pick when the pinned endpoint is unhealthy or terminating; persistent: keep it while it exists; drainable: like balanced, but keep sessions on a terminating endpoint while it is still serving.',
      ),
    changeOnFailure: z
      .boolean()
      .default(false)
      .describe('Re-pick when the pinned endpoint refuses connections.'),
    socketio: z
      .boolean()
      .optional()
      .describe(
        'Also pin by the engine.io sid, for socket.io clients without cookies (the sid is sealed at the handshake). Off unless set: it rewrites the handshake body.',
      ),
  })
  .strict();

const timeoutsSchema = z
  .object({
    connect: duration.default('5s'),
    read: duration.default('60s'),
    tunnelIdle: duration.default('1h').describe('Idle WebSocket tunnels are closed after this long.'),
  })
  .strict();

const healthCheckSchema = z
  .object({
    path: z.string().regex(/^\/[^\s]*$/, 'an absolute path'),
    intervalSeconds: z.number().int().min(1).max(3600).default(10),
    timeoutSeconds: z.number().int().min(1).max(60).default(2),
    healthyThreshold: z.number().int().min(1).max(10).default(2),
    unhealthyThreshold: z.number().int().min(1).max(10).default(3),
  })
  .strict();

const cidr = z
  .string()
  .max(64)
  .refine((s) => parseCidr(s) !== undefined, 'an IPv4/IPv6 CIDR or address');

/** Source-address access control of one route; a bad entry fails the spec, so the route is never served open. */
const accessSchema = z
  .object({
    allow: z
      .array(cidr)
      .max(1024)
      .default([])
      .describe('Only clients in these CIDRs may use the route (others get 403); empty: every client.'),
    deny: z
      .array(cidr)
      .max(1024)
      .default([])
      .describe('Clients in these CIDRs get 403; deny wins over allow.'),
  })
  .strict();

const routeSchema = z
  .object({
    match: z
      .object({
        path: z.string().regex(/^\/[^\s]*$/, 'an absolute path starting with "/"'),
        pathType: z.enum(['Exact', 'Prefix']).default('Prefix'),
      })
      .strict(),
    backend: z
      .object({ service: z.object({ name: z.string().min(1).max(63), port: servicePort }).strict() })
      .strict(),
    loadBalancing: z
      .object({
        policy: z
          .enum(['round-robin', 'least-conn', 'random-two', 'source-ip'])
          .default('round-robin')
          .describe('source-ip: consistent hash (Maglev) of the client address.'),
        hashBy: z
          .string()
          .max(HASH_BY_MAX_LENGTH)
          .refine(
            (v) => 'parts' in parseHashBy(v),
            'a template of $remote_addr, $request_uri, $http_NAME, $cookie_NAME and text',
          )
          .optional()
          .describe(
            'Consistent hash (Maglev) of this key picks the endpoint, overriding policy; ingress-nginx upstream-hash-by syntax.',
          ),
      })
      .strict()
      .prefault({}), // absent = {}: the policy default above is the only one
    affinity: affinitySchema.optional().describe('Cookie affinity; absent: every request is balanced.'),
    // prefault: an absent block is parsed as {}, so the field defaults above are the only StickyRoute defaults.
    timeouts: timeoutsSchema.prefault({}),
    retries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(2)
      .describe('Further endpoints tried after a connect failure, before anything was sent.'),
    healthCheck: healthCheckSchema.optional().describe('Active HTTP health checks; absent: passive only.'),
    access: accessSchema.optional().describe('Source-address access control; absent: every client.'),
  })
  .strict();

/** `spec` of a StickyRoute. Routes are ordered; their index is part of the route id. */
export const stickyRouteSpecSchema = z
  .object({
    hosts: z.array(hostname).min(1).max(64),
    tls: z
      .object({
        secretName: z.string().min(1).max(253).describe('A kubernetes.io/tls Secret in this namespace.'),
      })
      .strict()
      .optional(),
    redirect: z
      .object({
        sslRedirect: z.boolean().default(true).describe('Redirect HTTP to HTTPS when tls is set.'),
        forceSslRedirect: z.boolean().default(false).describe('Redirect HTTP to HTTPS even without tls.'),
      })
      .strict()
      .prefault({}), // absent = {}: the field defaults above are the only ones
    hsts: z
      .object({
        maxAgeSeconds: z.number().int().min(0).max(63_072_000).default(31_536_000),
        includeSubdomains: z.boolean().default(false),
        preload: z.boolean().default(false),
      })
      .strict()
      .optional()
      .describe('Send Strict-Transport-Security on HTTPS responses; absent: no HSTS.'),
    routes: z.array(routeSchema).min(1).max(256),
    sslPassthrough: z
      .boolean()
      .default(false)
      .describe(
        'Relay TLS for the hosts to the backend of the `/` route (or the first route) without terminating it; the backend presents its own certificate. Clients stick to an endpoint by source address.',
      ),
  })
  .strict();

const conditionSchema = z.object({
  type: z.string().max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: z.number().int().min(0).optional(),
  lastTransitionTime: z.string(),
  reason: z.string().max(1024),
  message: z.string().max(32_768),
});

/** `status` of a StickyRoute, written by the controller: Accepted, ResolvedRefs, Programmed. */
export const stickyRouteStatusSchema = z.object({
  observedGeneration: z.number().int().min(0).optional(),
  conditions: z.array(conditionSchema).optional(),
});

export type StickyRouteSpecInput = z.input<typeof stickyRouteSpecSchema>;
export type StickyRouteSpec = z.output<typeof stickyRouteSpecSchema>;
export type StickyRouteRoute = StickyRouteSpec['routes'][number];
export type StickyRouteStatus = z.output<typeof stickyRouteStatusSchema>;
