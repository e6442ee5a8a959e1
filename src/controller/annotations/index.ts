import type {
  AccessPolicy,
  ActiveHealthCheck,
  AffinityPolicy,
  BalancePolicy,
  Draft,
  HashPart,
  HstsPolicy,
  Timeouts,
} from '../../snapshot/types.ts';
import { accessGroup, parseAccess, unsupportedAccessControl } from './access.ts';
import { type AffinityAnnotations, affinityGroup } from './affinity.ts';
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
import { IGNORED_NGINX_ANNOTATIONS } from './ignored.ts';
import { type LoadBalanceAnnotations, loadBalanceGroup } from './load-balance.ts';
import { passthroughGroup } from './passthrough.ts';
import { proxyGroup, retriesFromTries } from './proxy.ts';
import { redirectGroup } from './redirect.ts';

export { UNSUPPORTED_ACCESS_CONTROL } from './access.ts';
export type { AnnotationDescriptor, AnnotationIssue } from './descriptor.ts';
export { NGINX_PREFIX, OWN_PREFIX } from './descriptor.ts';
export { IGNORED_NGINX_ANNOTATIONS } from './ignored.ts';

/** Every annotation group, in the order the docs list them. */
export const ANNOTATION_GROUPS = [
  affinityGroup,
  loadBalanceGroup,
  redirectGroup,
  proxyGroup,
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
  /** Source-range access control of every route of the Ingress. */
  access?: AccessPolicy;
  /** ssl-passthrough: the Ingress's hosts are relayed, not terminated. */
  sslPassthrough: boolean;
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
  const config: IngressAnnotations = {
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
  if (affinity.affinity === 'cookie') config.affinity = affinityPolicy(affinity);
  if (access) config.access = access;
  if (redirect.hsts) {
    config.hsts = {
      maxAgeSeconds: redirect['hsts-max-age'],
      includeSubdomains: redirect['hsts-include-subdomains'],
      preload: redirect['hsts-preload'],
    };
  }
  const path = health['health-check-path'];
  if (path !== undefined) {
    const intervalMs = health['health-check-interval'] * 1000;
    config.activeHealth = {
      path,
      intervalMs,
      timeoutMs: Math.min(intervalMs, 2000),
      healthyThreshold: 2,
      unhealthyThreshold: 3,
    };
  }
  return { config, issues };
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
  return { cookie, mode: a['affinity-mode'], changeOnFailure: a['session-cookie-change-on-failure'] };
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
