import type { AffinityPolicy, Backend, Draft, PassiveHealthCheck } from '../../snapshot/types.ts';
import type { IngressAnnotations } from '../annotations/index.ts';

/** Everything about a backend that is not its Service or endpoints; routes with equal policies share one. */
export type BackendPolicy = Pick<
  Backend,
  'balance' | 'hashBy' | 'affinity' | 'timeouts' | 'retries' | 'health' | 'tls'
>;

/** Passive ejection is always on: 3 consecutive connect failures take an endpoint out for 10 s. */
export const PASSIVE_HEALTH: Readonly<PassiveHealthCheck> = { failures: 3, cooldownMs: 10_000 };

/** Redirects use 308 (RFC 9110 §15.4.9): the method and body are kept, unlike with 301. */
export const REDIRECT_CODE = 308;

/**
 * The cookie path when none is configured: the route's path without its trailing slash, because a Prefix
 * route `/socket.io/` also serves `/socket.io`, and RFC 6265 §5.1.4 path-match of `/socket.io` covers both.
 */
export function defaultCookiePath(routePath: string): string {
  const trimmed = routePath.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/**
 * The backend policy of one Ingress path, from the Ingress's annotations. `service`: the path's Service, whose
 * DNS name is the default upstream TLS name; `tlsSecret`: the certificate id proxy-ssl-secret resolved to.
 */
export function ingressPolicy(
  config: IngressAnnotations,
  routePath: string,
  service: { namespace: string; name: string },
  tlsSecret?: string,
): BackendPolicy {
  const policy: Draft<BackendPolicy> = {
    balance: config.balance,
    ...(config.hashBy ? { hashBy: config.hashBy.map((p) => ({ ...p })) } : {}),
    timeouts: { ...config.timeouts },
    retries: config.retries,
    health: config.activeHealth
      ? { passive: { ...PASSIVE_HEALTH }, active: { ...config.activeHealth } }
      : { passive: { ...PASSIVE_HEALTH } },
  };
  if (config.affinity) {
    const { path, ...cookie } = config.affinity.cookie;
    const affinity: AffinityPolicy = {
      cookie: { ...cookie, path: path ?? defaultCookiePath(routePath) },
      mode: config.affinity.mode,
      changeOnFailure: config.affinity.changeOnFailure,
      ...(config.affinity.socketio ? { socketio: true } : {}),
    };
    policy.affinity = affinity;
  }
  const tls = config.upstreamTls;
  if (tls) {
    // Part of the policy, so backends (and their pools) differ when TLS settings differ.
    policy.tls = {
      verify: tls.verify,
      serverName: tls.serverName ?? `${service.name}.${service.namespace}.svc`,
      sni: tls.sni,
      ...(tlsSecret !== undefined ? { secret: tlsSecret } : {}),
    };
  }
  return policy;
}
