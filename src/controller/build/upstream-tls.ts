import type { IngressAnnotations } from '../annotations/index.ts';
import { loadCertificate } from './certificates.ts';
import type { BuildContext } from './context.ts';
import type { ObjectRef } from './meta.ts';

/**
 * Resolves `proxy-ssl-secret` for an HTTPS-backend Ingress: the certificate id its backends refer to, `null`
 * when none is named, or `false` when the Ingress must not be served (a refusing diagnostic was reported).
 * Tenant isolation (docs/security.md): only a Secret of the Ingress's own namespace, like spec.tls.
 */
export function upstreamTlsSecret(
  ctx: BuildContext,
  ref: ObjectRef,
  config: IngressAnnotations,
): string | null | false {
  const tls = config.upstreamTls;
  if (!tls?.secret) return null;
  const field = 'metadata.annotations["nginx.ingress.kubernetes.io/proxy-ssl-secret"]';
  const refuse = (reason: string, message: string): false => {
    ctx.report(
      ref,
      { severity: 'Error', reason, field, message: `${message}; the Ingress is not served` },
      'reject',
    );
    return false;
  };
  const { namespace, name } = tls.secret;
  if (namespace !== ref.namespace) {
    return refuse(
      'CrossNamespaceSecret',
      `proxy-ssl-secret ${namespace}/${name} is in another namespace than the Ingress (${ref.namespace})`,
    );
  }
  const result = loadCertificate(ctx, namespace, name);
  if ('problem' in result)
    return refuse(result.problem.reason, `proxy-ssl-secret: ${result.problem.message}`);
  if (tls.verify && result.caPem === undefined) {
    return refuse(
      'InvalidCertificate',
      `proxy-ssl-secret ${namespace}/${name} has no PEM ca.crt to verify the backend with (proxy-ssl-verify: on)`,
    );
  }
  return result.id;
}
