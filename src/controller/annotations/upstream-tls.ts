import { z } from 'zod';
import { type AnnotationIssue, type AnnotationReader, defineGroup, parseGroup } from './descriptor.ts';

const ON_OFF = z.enum(['on', 'off']);
// RFC 1123 DNS name, as a certificate's SAN carries it (lower case, no trailing dot).
const DNS_NAME = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'a DNS name');
const SECRET_REF = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, 'namespace/name');

/**
 * The protocol towards the backend and TLS to it (ingress-nginx `backend-protocol`, `proxy-ssl-*`). Every bad
 * value refuses the Ingress: its default (plain HTTP, no verification) would send the request unprotected.
 */
export const upstreamTlsGroup = defineGroup({
  name: 'upstream TLS',
  schema: z.object({
    'backend-protocol': z.enum(['HTTP', 'HTTPS']).default('HTTP'),
    'proxy-ssl-secret': SECRET_REF.optional(),
    'proxy-ssl-verify': ON_OFF.default('off'),
    'proxy-ssl-name': DNS_NAME.optional(),
    'proxy-ssl-server-name': ON_OFF.default('off'),
  }),
  fromNginx: { 'backend-protocol': (v) => v.toUpperCase() },
  descriptors: [
    {
      key: 'backend-protocol',
      nginx: true,
      values: 'HTTP or HTTPS (GRPC, GRPCS, AJP and FCGI refuse the Ingress)',
      description:
        'HTTPS: requests and WebSocket tunnels reach the endpoints over TLS. GRPC/GRPCS wait for HTTP/2 upstreams (after issue 16).',
      risk: 'Medium',
      refuseInvalid: true,
      differs:
        'GRPC and GRPCS refuse the Ingress until HTTP/2 upstreams exist (after issue 16); AJP and FCGI always; active health checks (ours) do not run over HTTPS yet',
    },
    {
      key: 'proxy-ssl-secret',
      nginx: true,
      values: "namespace/name of a kubernetes.io/tls Secret in the Ingress's own namespace",
      default: 'absent (no client certificate; Node.js root CAs)',
      description:
        'Its ca.crt verifies the endpoints (with proxy-ssl-verify: on); its tls.crt/tls.key are sent as client certificate. A Secret of another namespace, missing, or without ca.crt while verifying refuses the Ingress.',
      risk: 'High',
      refuseInvalid: true,
      differs:
        "only kubernetes.io/tls Secrets are read (cert-manager's carry ca.crt), and only from the Ingress's namespace",
    },
    {
      key: 'proxy-ssl-verify',
      nginx: true,
      values: 'on or off',
      description:
        "Verify the endpoint's certificate chain and name; off (ingress-nginx's default) accepts any.",
      risk: 'High',
      refuseInvalid: true,
    },
    {
      key: 'proxy-ssl-name',
      nginx: true,
      values: 'a DNS name',
      default: 'the Service DNS name, <service>.<namespace>.svc',
      description: 'Name the endpoint certificate must carry when verifying, and the SNI sent.',
      risk: 'Medium',
      refuseInvalid: true,
      differs: 'the default is <service>.<namespace>.svc rather than the NGINX upstream name',
    },
    {
      key: 'proxy-ssl-server-name',
      nginx: true,
      values: 'on or off',
      description: 'Send proxy-ssl-name as SNI (RFC 6066 section 3) in the TLS handshake to the endpoint.',
      risk: 'Low',
      refuseInvalid: true,
    },
  ],
});

/** What an Ingress asks of TLS to its backends; `serverName` absent means each Service's DNS name. */
export interface UpstreamTlsAnnotations {
  verify: boolean;
  secret?: { namespace: string; name: string };
  serverName?: string;
  sni: boolean;
}

// ingress-nginx accepts these; we refuse them with what is missing, never serve them over HTTP/1.1.
const UNSERVED_PROTOCOLS: Readonly<Record<string, string>> = {
  GRPC: 'gRPC needs HTTP/2 to the upstream, which does not exist yet (it comes after the HTTP/2 work of issue 16)',
  GRPCS:
    'gRPC over TLS needs HTTP/2 to the upstream, which does not exist yet (it comes after the HTTP/2 work of issue 16)',
  AJP: 'AJP backends are not supported',
  FCGI: 'FastCGI backends are not supported',
};

/**
 * Reads the upstream-TLS group: undefined for plain HTTP. A GRPC/GRPCS/AJP/FCGI protocol is a refusing issue
 * with its own reason (the generic "invalid value" would hide when it will be served).
 */
export function parseUpstreamTls(
  reader: AnnotationReader,
  issues: AnnotationIssue[],
): UpstreamTlsAnnotations | undefined {
  const protocol = reader.read(upstreamTlsGroup.descriptors[0]!);
  const unserved = protocol && UNSERVED_PROTOCOLS[protocol.value.toUpperCase()];
  if (protocol && unserved) {
    issues.push({
      severity: 'Error',
      annotation: protocol.key,
      reason: 'UnsupportedAnnotation',
      message: `${protocol.key}: ${protocol.value} is not served: ${unserved}; the Ingress is not served rather than spoken to over HTTP/1.1`,
      refuses: true,
    });
    return undefined;
  }
  const g = parseGroup(upstreamTlsGroup, reader, issues);
  if (g['backend-protocol'] !== 'HTTPS') return undefined;
  const out: UpstreamTlsAnnotations = {
    verify: g['proxy-ssl-verify'] === 'on',
    sni: g['proxy-ssl-server-name'] === 'on',
  };
  const ref = g['proxy-ssl-secret'];
  if (ref !== undefined) {
    const [namespace = '', name = ''] = ref.split('/');
    out.secret = { namespace, name };
  }
  if (g['proxy-ssl-name'] !== undefined) out.serverName = g['proxy-ssl-name'];
  return out;
}
