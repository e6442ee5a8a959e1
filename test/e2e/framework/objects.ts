import { generate } from 'selfsigned';
import type { KubeObject } from './kube.ts';
import type { Backend } from './netns.ts';

/** The label that makes a backend Pod a member of Service `service` (its selector; existing-cluster.ts). */
export function memberLabel(service: string): string {
  return `member.e2e.sticky-ingress.dev/${service}`;
}

/**
 * A ClusterIP Service `name` with one port `http` (80 -> 3000). Its selector (memberLabel) matters only on a
 * real cluster, where the EndpointSlice controller writes the slices; the local apiserver runs no controller,
 * so there the tests' own EndpointSlices are the Service's.
 */
export function service(namespace: string, name: string, port = 80, targetPort = 3000): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: {
      selector: { [memberLabel(name)]: 'true' },
      ports: [{ name: 'http', port, targetPort, protocol: 'TCP' }],
    },
  };
}

/** Per-endpoint conditions; defaults to ready and serving. */
export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

/** An EndpointSlice for `serviceName` with one endpoint per backend (address in its network namespace). */
export function endpointSlice(
  namespace: string,
  serviceName: string,
  backends: readonly (Backend | { backend: Backend; conditions: EndpointConditions })[],
  sliceName = `${serviceName}-e2e`,
): KubeObject {
  const endpoints = backends.map((b) => {
    const backend = 'backend' in b ? b.backend : b;
    const c = 'backend' in b ? b.conditions : {};
    return {
      addresses: [backend.address],
      conditions: { ready: c.ready ?? true, serving: c.serving ?? true, terminating: c.terminating ?? false },
      targetRef: { kind: 'Pod', namespace, name: backend.id },
    };
  });
  const port = backends[0] ? ('backend' in backends[0] ? backends[0].backend.port : backends[0].port) : 3000;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: sliceName, namespace, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints,
    ports: [{ name: 'http', port, protocol: 'TCP' }],
  };
}

/** One rule of an Ingress: host, path (Prefix), Service and its port number. */
export interface IngressRule {
  host: string;
  path?: string;
  pathType?: 'Prefix' | 'Exact' | 'ImplementationSpecific';
  service: string;
  port?: number;
}

/** An Ingress of class `sticky` with the given rules, TLS hosts/Secret and annotations. */
export function ingress(
  namespace: string,
  name: string,
  rules: IngressRule[],
  opts: {
    tls?: { hosts: string[]; secretName: string }[];
    annotations?: Record<string, string>;
    className?: string;
  } = {},
): KubeObject {
  const byHost = new Map<string, IngressRule[]>();
  for (const r of rules) byHost.set(r.host, [...(byHost.get(r.host) ?? []), r]);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      ingressClassName: opts.className ?? 'sticky',
      ...(opts.tls ? { tls: opts.tls } : {}),
      // An empty host makes a rule without host (matches every Host header).
      rules: [...byHost].map(([host, list]) => ({
        ...(host ? { host } : {}),
        http: {
          paths: list.map((r) => ({
            path: r.path ?? '/',
            pathType: r.pathType ?? 'Prefix',
            backend: { service: { name: r.service, port: { number: r.port ?? 80 } } },
          })),
        },
      })),
    },
  };
}

/** A self-signed certificate for `hosts` (EC P-256), PEM. */
export async function certificate(
  hosts: string[],
  commonName = hosts[0] ?? 'e2e',
): Promise<{ cert: string; key: string }> {
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'subjectAltName', altNames: hosts.map((value) => ({ type: 2, value })) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A kubernetes.io/tls Secret. */
export function tlsSecret(namespace: string, name: string, pem: { cert: string; key: string }): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(pem.cert).toString('base64'),
      'tls.key': Buffer.from(pem.key).toString('base64'),
    },
  };
}

/** A StickyRoute with the given spec. */
export function stickyRoute(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'sticky-ingress.dev/v1alpha1',
    kind: 'StickyRoute',
    metadata: { name, namespace },
    spec,
  };
}
