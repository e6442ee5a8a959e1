import { z } from 'zod';
import { boolString, defineGroup, uint } from './descriptor.ts';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/; // RFC 6265 cookie-name = RFC 7230 token
const TEN_YEARS = 315_360_000;

/** Cookie affinity: `affinity: cookie` pins a client to one endpoint of the backend with a signed cookie. */
export const affinityGroup = defineGroup({
  name: 'affinity',
  schema: z.object({
    affinity: z.enum(['cookie', 'socketio', 'none']).default('none'),
    // persistent-drainable: ingress-nginx's name for the same mode (kubernetes/ingress-nginx#13484).
    'affinity-mode': z
      .enum(['balanced', 'persistent', 'drainable', 'persistent-drainable'])
      .default('balanced'),
    'session-cookie-name': z.string().regex(TOKEN).default('INGRESSCOOKIE'),
    'session-cookie-max-age': uint(1, TEN_YEARS).optional(),
    'session-cookie-expires': uint(1, TEN_YEARS).optional(),
    'session-cookie-path': z
      .string()
      .regex(/^\/[^;\s]{0,1023}$/)
      .optional(),
    'session-cookie-domain': z
      .string()
      .regex(/^\.?[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/)
      .optional(),
    'session-cookie-samesite': z.enum(['Strict', 'Lax', 'None']).optional(),
    'session-cookie-secure': boolString.default(false),
    'session-cookie-httponly': boolString.default(true),
    'session-cookie-change-on-failure': boolString.default(false),
  }),
  descriptors: [
    {
      key: 'affinity',
      nginx: true,
      values: 'cookie, socketio, none',
      description:
        'cookie: pin each client to one endpoint with a cookie holding a keyed hash of it (never its address). socketio: the same cookie, and also the engine.io sid, for socket.io clients that keep no cookies (docs/socketio.md).',
      risk: 'Low',
      differs:
        "the cookie value is a keyed hash, not ingress-nginx's: clients are re-pinned once after the switch",
    },
    {
      key: 'affinity-mode',
      nginx: true,
      values: 'balanced, persistent, drainable (alias persistent-drainable)',
      description:
        'balanced: re-pick when the pinned endpoint is unhealthy, terminating or gone; persistent: keep it while it exists; drainable: like balanced, but sessions stay on a terminating endpoint while it is still serving.',
      risk: 'Low',
    },
    {
      key: 'session-cookie-name',
      nginx: true,
      values: 'an RFC 6265 cookie name (token characters, at most 64)',
      description: 'Name of the affinity cookie.',
      risk: 'Low',
    },
    {
      key: 'session-cookie-max-age',
      nginx: true,
      values: `whole seconds, 1 to ${TEN_YEARS}`,
      default: 'absent (session cookie)',
      description:
        'Max-Age of the cookie. With neither max-age nor expires the cookie lasts the browser session.',
      risk: 'Low',
    },
    {
      key: 'session-cookie-expires',
      nginx: true,
      values: `whole seconds, 1 to ${TEN_YEARS}`,
      default: 'absent (session cookie)',
      description: 'Expires attribute, as seconds after the cookie is issued.',
      risk: 'Low',
    },
    {
      key: 'session-cookie-path',
      nginx: true,
      values: 'an absolute path without ";" or spaces',
      default: "the rule's path without its trailing slash (/ stays /)",
      description: 'Path attribute of the cookie.',
      risk: 'Low',
    },
    {
      key: 'session-cookie-domain',
      nginx: true,
      values: 'a lower-case domain name',
      default: 'absent (host-only cookie)',
      description: 'Domain attribute of the cookie.',
      risk: 'Low',
    },
    {
      key: 'session-cookie-samesite',
      nginx: true,
      values: 'Strict, Lax, None',
      default: 'absent',
      description: 'SameSite attribute. None forces Secure (browsers reject SameSite=None without it).',
      risk: 'Low',
    },
    {
      key: 'session-cookie-secure',
      nginx: true,
      values: 'true, false',
      description:
        'true: always mark the cookie Secure; false: Secure only when the request came over HTTPS.',
      risk: 'Low',
    },
    {
      key: 'session-cookie-httponly',
      nginx: false,
      values: 'true, false',
      description: 'HttpOnly attribute (scripts cannot read the cookie).',
      risk: 'Low',
    },
    {
      key: 'session-cookie-change-on-failure',
      nginx: true,
      values: 'true, false',
      description: 'Re-pick (and re-issue the cookie) when the pinned endpoint refuses the connection.',
      risk: 'Low',
    },
  ],
});

/** Typed result of the affinity group. */
export type AffinityAnnotations = z.output<typeof affinityGroup.schema>;
