import { build } from '../../../src/controller/build/index.ts';
import { finalizeSnapshot, type Snapshot } from '../../../src/snapshot/index.ts';
import { viewFromYaml } from '../../controller/golden-support.ts';

/**
 * Ingress manifests -> the snapshot the controller would build (real builder, real annotation parsing), with
 * each Service's endpoints on a loopback test backend: the dataplane tests then see what a user's Ingress does.
 */
export interface IngressSpec {
  name: string;
  host: string;
  annotations?: Record<string, string>;
  paths: { path: string; pathType?: string; service: string }[];
  /** Creation time; older wins a path conflict. */
  created?: string;
}

const NGINX = 'nginx.ingress.kubernetes.io/';

/** `nginx.ingress.kubernetes.io/<key>` for every key of `a`. */
export function nginx(a: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [NGINX + k, v]));
}

/**
 * The snapshot of `ingresses`, Services named in them backed by `ports` (service name -> loopback port);
 * `extra`: more objects (Secrets) as manifests.
 */
export function ingressSnapshot(
  ingresses: IngressSpec[],
  ports: Record<string, number>,
  version = 1,
  extra: unknown[] = [],
): Snapshot {
  const docs: unknown[] = [...extra];
  for (const ing of ingresses) {
    docs.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: ing.name,
        namespace: 'default',
        creationTimestamp: ing.created ?? '2025-01-01T00:00:00Z',
        annotations: ing.annotations ?? {},
      },
      spec: {
        ingressClassName: 'sticky',
        rules: [
          {
            host: ing.host,
            http: {
              paths: ing.paths.map((p) => ({
                path: p.path,
                pathType: p.pathType ?? 'Prefix',
                backend: { service: { name: p.service, port: { number: 80 } } },
              })),
            },
          },
        ],
      },
    });
  }
  for (const [name, port] of Object.entries(ports)) {
    docs.push(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: 'default' },
        spec: { ports: [{ name: 'http', port: 80, targetPort: port }] },
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port, protocol: 'TCP' }],
        endpoints: [{ addresses: ['127.0.0.1'], conditions: {} }],
      },
    );
  }
  const yaml = docs.map((d) => JSON.stringify(d)).join('\n---\n');
  const result = build(viewFromYaml(yaml), { ingressClass: 'sticky', allowLoopbackEndpoints: true });
  const errors = result.diagnostics.filter((d) => d.severity === 'Error');
  if (errors.length > 0) throw new Error(`test Ingresses did not build: ${JSON.stringify(errors)}`);
  return finalizeSnapshot(result.body, version);
}
