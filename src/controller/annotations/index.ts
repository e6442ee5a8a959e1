import type {
  AccessPolicy,
  ActiveHealthCheck,
  AffinityPolicy,
  BalancePolicy,
  CorsPolicy,
  Draft,
  HashPart,
  HstsPolicy,
  RateLimits,
  RouteRedirect,
  Timeouts,
} from '../../snapshot/types.ts';
import { accessGroup, parseAccess, unsupportedAccessControl } from './access.ts';
import { type AffinityAnnotations, affinityGroup } from './affinity.ts';
import { bodySizeGroup } from './body-size.ts';
import { type CanaryAnnotations, canaryGroup } from './canary.ts';
import { corsGroup } from './cors.ts';
import {
  type AnnotationDescriptor,
  type AnnotationIssue,
  type AnnotationReader,
  NGINX_PREFIX,
  OWN_PREFIX,
  parseGroup,
} from './descriptor.ts';
import { parseHashBy } from './hash-by.ts';
import { healthCheckGroup } from './health-check.ts';
import { IGNORED_NGINX_ANNOTATIONS, REFUSED_NGINX_ANNOTATIONS } from './ignored.ts';
import { type LoadBalanceAnnotations, loadBalanceGroup } from './load-balance.ts';
import { passthroughGroup } from './passthrough.ts';
import { proxyGroup, retriesFromTries } from './proxy.ts';
import { rateLimitGroup } from './rate-limit.ts';
import { redirectGroup } from './redirect.ts';
import { rewriteGroup } from './rewrite.ts';
import { parseUpstreamTls, type UpstreamTlsAnnotations, upstreamTlsGroup } from './upstream-tls.ts';
import { urlRedirectGroup } from './url-redirect.ts';

export { UNSUPPORTED_ACCESS_CONTROL } from './access.ts';
export { HEADER_PATTERN_OPTIONS } from './canary.ts';
export type { AnnotationDescriptor, AnnotationIssue } from './descriptor.ts';
export { NGINX_PREFIX, OWN_PREFIX } from './descriptor.ts';
export {
  IGNORED_NGINX_ANNOTATIONS,
  NGINX_ANNOTATION_KEYS,
  REFUSED_NGINX_ANNOTATIONS,
} from './ignored.ts';
export { PATH_REGEX_OPTIONS, pathRegexProblem } from './rewrite.ts';
export type { UpstreamTlsAnnotations } from './upstream-tls.ts';

/** Every annotation group, in the order the docs list them. */
export const ANNOTATION_GROUPS = [
  affinityGroup,
  loadBalanceGroup,
  redirectGroup,
  urlRedirectGroup,
  rewriteGroup,
  canaryGroup,
  corsGroup,
  bodySizeGroup,
  rateLimitGroup,
  proxyGroup,
  upstreamTlsGroup,
  healthCheckGroup,
  accessGroup,
  passthroughGroup,
];

/** Every descriptor of every group. */
export const ANNOTATION_DESCRIPTORS: readonly AnnotationDescriptor[] = ANNOTATION_GROUPS.flatMap(
  (g): readonly AnnotationDescriptor[] => g.descriptors,
);

/** What an Ingress's annotations configure. Cookie `path` absent means "the rule's path" (resolved per route). */
export interface IngressAnnotations {
  balance: BalancePolicy;
  /** The hash key when balance is `hash` (source-ip or upstream-hash-by). */
  hashBy?: HashPart[];
  affinity?: Omit<AffinityPolicy, 'cookie'> & {
    cookie: Omit<AffinityPolicy['cookie'], 'path'> & { path?: string };
  };
  sslRedirect: boolean;
  forceSslRedirect: boolean;
  hsts?: HstsPolicy;
  timeouts: Timeouts;
  retries: number;
  activeHealth?: ActiveHealthCheck;
  /** Paths are regexes (`use-regex`, or implied by `rewrite-target`). */
  regex: boolean;
  rewrite?: string;
  forwardedPrefix?: string;
  /** Host header sent upstream (`upstream-vhost`). */
  upstreamHost?: string;
  /** `app-root`, else `permanent-redirect`, else `temporal-redirect`. */
  answer?: RouteRedirect;
  wwwRedirect: boolean;
  maxBodyBytes?: number;
  cors?: CorsPolicy;
  limits?: RateLimits;
  /** Present on a canary Ingress (`canary: "true"`). */
  canary?: CanaryAnnotations;
  /** Some annotation must not be served differently: the Ingress is refused (issues say why). */
  refused: boolean;
  /** Source-range access control of every route of the Ingress. */
  access?: AccessPolicy;
  /** ssl-passthrough: the Ingress's hosts are relayed, not terminated. */
  sslPassthrough: boolean;
  /** TLS to the backends (`backend-protocol: HTTPS`); the builder resolves the Secret and default name. */
  upstreamTls?: UpstreamTlsAnnotations;
}

/**
 * Reads an Ingress's annotations: our keys, the ingress-nginx keys we accept, and a diagnostic for every
 * other key under either prefix. Never throws; an invalid value falls back to its default.
 */
export function parseIngressAnnotations(annotations: unknown): {
  config: IngressAnnotations;
  issues: AnnotationIssue[];
} {
  const raw = stringEntries(annotations);
  const issues: AnnotationIssue[] = [];
  reportUnknown(raw, issues);
  const reader: AnnotationReader = {
    read(d) {
      const own = raw.get(OWN_PREFIX + d.key);
      if (own !== undefined) return { key: OWN_PREFIX + d.key, value: own, fromNginx: false };
      const nginx = d.nginx ? raw.get(NGINX_PREFIX + d.key) : undefined;
      return nginx === undefined ? undefined : { key: NGINX_PREFIX + d.key, value: nginx, fromNginx: true };
    },
  };
  const affinity = parseGroup(affinityGroup, reader, issues);
  const balance = parseGroup(loadBalanceGroup, reader, issues);
  const redirect = parseGroup(redirectGroup, reader, issues);
  const proxy = parseGroup(proxyGroup, reader, issues);
  const health = parseGroup(healthCheckGroup, reader, issues);
  const access = parseAccess(reader, issues);
  const passthrough = parseGroup(passthroughGroup, reader, issues);
  const upstreamTls = parseUpstreamTls(reader, issues);
  const config: IngressAnnotations = {
    ...servedExtras(reader, issues),
    ...balancePolicy(balance),
    sslRedirect: redirect['ssl-redirect'],
    forceSslRedirect: redirect['force-ssl-redirect'],
    timeouts: {
      connectMs: proxy['proxy-connect-timeout'] * 1000,
      readMs: proxy['proxy-read-timeout'] * 1000,
      tunnelIdleMs: proxy['websocket-idle-timeout'] * 1000,
    },
    retries: retriesFromTries(proxy['proxy-next-upstream-tries']),
    sslPassthrough: passthrough['ssl-passthrough'],
  };
  if (affinity.affinity !== 'none') config.affinity = affinityPolicy(affinity);
  if (access) config.access = access;
  if (upstreamTls) config.upstreamTls = upstreamTls;
  if (redirect.hsts) {
    config.hsts = {
      maxAgeSeconds: redirect['hsts-max-age'],
      includeSubdomains: redirect['hsts-include-subdomains'],
      preload: redirect['hsts-preload'],
    };
  }
  const path = health['health-check-path'];
  if (path !== undefined && upstreamTls) {
    // The checker speaks plain HTTP: over an HTTPS backend every probe would fail and eject every endpoint.
    issues.push({
      severity: 'Warning',
      annotation: `${OWN_PREFIX}health-check-path`,
      reason: 'UnsupportedAnnotation',
      message:
        'active health checks are not run over TLS yet: off for this HTTPS backend (passive health stays on)',
    });
  } else if (path !== undefined) {
    const intervalMs = health['health-check-interval'] * 1000;
    config.activeHealth = {
      path,
      intervalMs,
      timeoutMs: Math.min(intervalMs, 2000),
      healthyThreshold: 2,
      unhealthyThreshold: 3,
    };
  }
  config.refused = issues.some((i) => i.refuses);
  return { config, issues };
}

type Extras = Pick<
  IngressAnnotations,
  | 'regex'
  | 'rewrite'
  | 'forwardedPrefix'
  | 'upstreamHost'
  | 'answer'
  | 'wwwRedirect'
  | 'maxBodyBytes'
  | 'cors'
  | 'limits'
  | 'canary'
  | 'refused'
>;

// The groups served with ingress-nginx's semantics on the request path (issue 15).
function servedExtras(reader: AnnotationReader, issues: AnnotationIssue[]): Extras {
  const rewrite = parseGroup(rewriteGroup, reader, issues);
  const url = parseGroup(urlRedirectGroup, reader, issues);
  const canary = parseGroup(canaryGroup, reader, issues);
  const cors = parseGroup(corsGroup, reader, issues);
  const body = parseGroup(bodySizeGroup, reader, issues);
  const out: Extras = {
    regex: rewrite['use-regex'] || rewrite['rewrite-target'] !== undefined,
    wwwRedirect: url['from-to-www-redirect'],
    refused: false,
  };
  if (rewrite['rewrite-target'] !== undefined) out.rewrite = rewrite['rewrite-target'];
  if (rewrite['x-forwarded-prefix'] !== undefined) out.forwardedPrefix = rewrite['x-forwarded-prefix'];
  if (rewrite['upstream-vhost'] !== undefined) out.upstreamHost = rewrite['upstream-vhost'].toLowerCase();
  // ingress-nginx precedence: app-root only answers `/`; permanent wins over temporal.
  if (rewrite['app-root'] !== undefined) {
    out.answer = { when: 'app-root', location: rewrite['app-root'], code: 302 };
  } else if (url['permanent-redirect'] !== undefined) {
    out.answer = {
      when: 'always',
      location: url['permanent-redirect'],
      code: url['permanent-redirect-code'],
    };
  } else if (url['temporal-redirect'] !== undefined) {
    out.answer = { when: 'always', location: url['temporal-redirect'], code: url['temporal-redirect-code'] };
  }
  const size = body['proxy-body-size'];
  if (size !== undefined && size > 0) out.maxBodyBytes = size;
  if (cors['enable-cors']) {
    const policy: CorsPolicy = {
      allowOrigins: cors['cors-allow-origin'],
      allowMethods: cors['cors-allow-methods'],
      allowHeaders: cors['cors-allow-headers'],
      exposeHeaders: cors['cors-expose-headers'] ?? '',
      allowCredentials: cors['cors-allow-credentials'],
      maxAgeSeconds: cors['cors-max-age'],
    };
    out.cors = policy;
  }
  if (canary.canary) out.canary = canary;
  const limits = parseGroup(rateLimitGroup, reader, issues);
  const { 'limit-rps': rps, 'limit-rpm': rpm, 'limit-connections': connections } = limits;
  if (rps !== undefined || rpm !== undefined || connections !== undefined) {
    const whitelist = limits['limit-whitelist'];
    out.limits = {
      ...(rps !== undefined ? { rps } : {}),
      ...(rpm !== undefined ? { rpm } : {}),
      ...(connections !== undefined ? { connections } : {}),
      burstMultiplier: limits['limit-burst-multiplier'],
      whitelist:
        whitelist === undefined
          ? []
          : whitelist
              .split(',')
              .map((c) => c.trim())
              .filter((c) => c !== ''),
    };
  }
  return out;
}

/** upstream-hash-by wins over load-balance (as in ingress-nginx); source-ip is a hash of $remote_addr. */
function balancePolicy(b: LoadBalanceAnnotations): Pick<IngressAnnotations, 'balance' | 'hashBy'> {
  const template = b['upstream-hash-by'];
  const parsed = template === undefined ? undefined : parseHashBy(template);
  if (parsed !== undefined && 'parts' in parsed) return { balance: 'hash', hashBy: parsed.parts };
  if (b['load-balance'] === 'source-ip') return { balance: 'hash', hashBy: [{ kind: 'remote-addr' }] };
  return { balance: b['load-balance'] };
}

function affinityPolicy(a: AffinityAnnotations): NonNullable<IngressAnnotations['affinity']> {
  const cookie: Draft<NonNullable<IngressAnnotations['affinity']>['cookie']> = {
    name: a['session-cookie-name'],
    secure: a['session-cookie-secure'] ? 'always' : 'auto',
    httpOnly: a['session-cookie-httponly'],
  };
  if (a['session-cookie-path'] !== undefined) cookie.path = a['session-cookie-path'];
  if (a['session-cookie-domain'] !== undefined) cookie.domain = a['session-cookie-domain'];
  if (a['session-cookie-max-age'] !== undefined) cookie.maxAgeSeconds = a['session-cookie-max-age'];
  if (a['session-cookie-expires'] !== undefined) cookie.expiresSeconds = a['session-cookie-expires'];
  if (a['session-cookie-samesite'] !== undefined) cookie.sameSite = a['session-cookie-samesite'];
  const mode = a['affinity-mode'] === 'persistent-drainable' ? 'drainable' : a['affinity-mode'];
  const policy = { cookie, mode, changeOnFailure: a['session-cookie-change-on-failure'] };
  return a.affinity === 'socketio' ? { ...policy, socketio: true } : policy;
}

const OWN_KEYS = new Set(ANNOTATION_DESCRIPTORS.map((d) => d.key));
const NGINX_KEYS = new Set(ANNOTATION_DESCRIPTORS.filter((d) => d.nginx).map((d) => d.key));

function reportUnknown(raw: ReadonlyMap<string, string>, issues: AnnotationIssue[]): void {
  for (const [key, value] of raw) {
    const own = key.startsWith(OWN_PREFIX);
    if (!own && !key.startsWith(NGINX_PREFIX)) continue;
    const bare = key.slice(own ? OWN_PREFIX.length : NGINX_PREFIX.length);
    // Under either prefix: whoever wrote it expects protection, so the Ingress must not be served without it.
    const unsupported = unsupportedAccessControl(bare, value);
    if (unsupported !== undefined) {
      issues.push({
        severity: 'Error',
        annotation: key,
        reason: 'UnsupportedAccessControl',
        message: `${key} asks for ${unsupported}, which sticky-ingress does not implement; the Ingress is not served rather than served unprotected`,
        refuses: true,
      });
    } else if (own && !OWN_KEYS.has(bare)) {
      issues.push({
        severity: 'Warning',
        annotation: key,
        reason: 'UnknownAnnotation',
        message: `unknown annotation ${key} ignored (see docs/annotations.md for the supported keys)`,
      });
    } else if (!own && REFUSED_NGINX_ANNOTATIONS[bare] !== undefined) {
      // Fail safe (issue 15, item 9), the same refusal as access control: not served rather than served differently.
      issues.push({
        severity: 'Error',
        annotation: key,
        reason: 'UnsupportedAnnotation',
        message: `ingress-nginx annotation ${key} is not served: ${REFUSED_NGINX_ANNOTATIONS[bare]}; the Ingress is not served rather than served differently`,
        refuses: true,
      });
    } else if (!own && !NGINX_KEYS.has(bare)) {
      const why = IGNORED_NGINX_ANNOTATIONS[bare] ?? 'not supported by sticky-ingress';
      issues.push({
        severity: 'Warning',
        annotation: key,
        reason: 'IgnoredAnnotation',
        message: `ingress-nginx annotation ${key} ignored: ${why}`,
      });
    }
  }
}

// Annotations come from arbitrary objects: keep string values only, in key order for stable diagnostics.
function stringEntries(annotations: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!annotations || typeof annotations !== 'object') return out;
  for (const key of Object.keys(annotations).sort()) {
    const value = (annotations as Record<string, unknown>)[key];
    if (typeof value === 'string') out.set(key, value.trim());
  }
  return out;
}
