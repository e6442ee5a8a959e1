import { type ClusterView, emptyView } from '../../src/controller/view.ts';

/** Certificate every generated Secret carries (each Secret is still its own certificate in the snapshot). */
export interface Pem {
  certPem: string;
  keyPem: string;
}

/**
 * `n` Ingresses as the informers would hold them, each with its own host, TLS Secret, Service and
 * EndpointSlice (3 endpoints, cookie affinity), spread over 50 namespaces. Every endpoint is the bench's
 * backend on 127.0.0.1:`backendPort`; pod targetRefs keep their ids distinct.
 */
export function generateView(n: number, backendPort: number, pem: Pem): ClusterView {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const tls = { 'tls.crt': b64(pem.certPem), 'tls.key': b64(pem.keyPem) };
  const view = emptyView();
  const out = view as unknown as Record<keyof ClusterView, object[]>;
  for (let i = 0; i < n; i++) {
    const namespace = `ns-${i % 50}`;
    const name = `app-${i}`;
    out.secrets.push({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: `${name}-tls`, namespace },
      data: tls,
    });
    out.services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    });
    out.endpointSlices.push(endpointSlice(namespace, name, backendPort, 3));
    out.ingresses.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name,
        namespace,
        annotations: { 'sticky-ingress.dev/affinity': 'cookie', 'sticky-ingress.dev/ssl-redirect': 'false' },
      },
      spec: {
        ingressClassName: 'sticky',
        tls: [{ hosts: [`${name}.bench`], secretName: `${name}-tls` }],
        rules: [
          // ssl-redirect off: the live-traffic loop speaks plain HTTP

          {
            host: `${name}.bench`,
            http: {
              paths: [
                { path: '/', pathType: 'Prefix', backend: { service: { name, port: { name: 'http' } } } },
              ],
            },
          },
        ],
      },
    });
  }
  return view as unknown as ClusterView;
}

/** The EndpointSlice of Service `namespace/name` with `count` ready endpoints. */
export function endpointSlice(namespace: string, name: string, port: number, count: number): object {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-abcde`, namespace, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: Array.from({ length: count }, (_, k) => ({
      addresses: ['127.0.0.1'],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace, name: `${name}-pod-${k}` },
    })),
  };
}

/** A copy of `view` where Service `ns-0/app-<i>`'s slice has `count` endpoints (one EndpointSlice event). */
export function withSliceChange(view: ClusterView, i: number, port: number, count: number): ClusterView {
  const namespace = `ns-${i % 50}`;
  const slices = view.endpointSlices.slice();
  slices[i] = endpointSlice(namespace, `app-${i}`, port, count) as (typeof slices)[number];
  return { ...view, endpointSlices: slices };
}

/** A copy of `view` where Ingress `app-<i>` has a new revision (its affinity cookie renamed): one Ingress event. */
export function withIngressChange(view: ClusterView, i: number, revision: number): ClusterView {
  const ingresses = view.ingresses.slice();
  const old = ingresses[i] as unknown as { metadata: { annotations: Record<string, string> } };
  const metadata = {
    ...old.metadata,
    resourceVersion: String(revision),
    annotations: { ...old.metadata.annotations, 'sticky-ingress.dev/session-cookie-name': `S${revision}` },
  };
  ingresses[i] = { ...old, metadata } as unknown as (typeof ingresses)[number];
  return { ...view, ingresses };
}
