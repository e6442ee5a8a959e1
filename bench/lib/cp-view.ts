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
  const view = emptyView();
  const out = view as unknown as Record<keyof ClusterView, object[]>;
  for (let i = 0; i < n; i++) {
    const app = appObjects(i, backendPort, pem);
    out.secrets.push(app.secret);
    out.services.push(app.service);
    out.endpointSlices.push(app.slice);
    out.ingresses.push(app.ingress);
  }
  return view as unknown as ClusterView;
}

/** The four objects of generated app `i` (`app-<i>` in `ns-<i % 50>`): its Secret, Service, slice and Ingress. */
export function appObjects(
  i: number,
  backendPort: number,
  pem: Pem,
): { secret: object; service: object; slice: object; ingress: object } {
  const namespace = `ns-${i % 50}`;
  const name = `app-${i}`;
  return {
    secret: tlsSecret(namespace, `${name}-tls`, pem),
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    },
    slice: endpointSlice(namespace, name, backendPort, 3),
    ingress: {
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
    },
  };
}

function tlsSecret(namespace: string, name: string, pem: Pem): object {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace },
    data: { 'tls.crt': b64(pem.certPem), 'tls.key': b64(pem.keyPem) },
  };
}

/**
 * A copy of `view` with app `i` (its Secret, Service, slice and Ingress: a new host, backend and certificate)
 * added at the end of each list, as four informer events would leave it.
 */
export function withAppAdded(view: ClusterView, i: number, backendPort: number, pem: Pem): ClusterView {
  const app = appObjects(i, backendPort, pem);
  const add = <T>(list: readonly T[], o: object) => [...list, o as T];
  return {
    ...view,
    secrets: add(view.secrets, app.secret),
    services: add(view.services, app.service),
    endpointSlices: add(view.endpointSlices, app.slice),
    ingresses: add(view.ingresses, app.ingress),
  };
}

/** A copy of `view` without the objects of app `i` (the Ingress, its Service, slice and Secret deleted). */
export function withAppRemoved(view: ClusterView, i: number): ClusterView {
  const namespace = `ns-${i % 50}`;
  const names = new Set([`app-${i}`, `app-${i}-tls`, `app-${i}-abcde`]);
  const keep = <T>(list: readonly T[]) =>
    list.filter((o) => {
      const m = (o as { metadata: { name: string; namespace: string } }).metadata;
      return m.namespace !== namespace || !names.has(m.name);
    });
  return {
    ...view,
    secrets: keep(view.secrets),
    services: keep(view.services),
    endpointSlices: keep(view.endpointSlices),
    ingresses: keep(view.ingresses),
  };
}

/** A copy of `view` where app `i`'s TLS Secret carries `pem` (a certificate renewed under the same Secret). */
export function withSecretRotated(view: ClusterView, i: number, pem: Pem): ClusterView {
  const secrets = view.secrets.slice();
  secrets[i] = tlsSecret(`ns-${i % 50}`, `app-${i}-tls`, pem) as (typeof secrets)[number];
  return { ...view, secrets };
}

/**
 * The EndpointSlice of Service `namespace/name` with `count` ready endpoints; `slice` names one of several
 * (pods `<name>-pod-<slice>-<k>`), as the EndpointSlice controller splits a large Service into slices of 100.
 */
export function endpointSlice(
  namespace: string,
  name: string,
  port: number,
  count: number,
  slice?: number,
): object {
  const suffix = slice === undefined ? 'abcde' : `s${slice}`;
  const pod = slice === undefined ? `${name}-pod` : `${name}-pod-${slice}`;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-${suffix}`, namespace, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: Array.from({ length: count }, (_, k) => ({
      addresses: ['127.0.0.1'],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', namespace, name: `${pod}-${k}` },
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

/** One Ingress (`app-0.bench`) whose Service has `endpoints` endpoints in slices of 100 (issue 13 item 3). */
export function generateBigServiceView(endpoints: number, backendPort: number, pem: Pem): ClusterView {
  const view = generateView(1, backendPort, pem);
  const slices = Array.from({ length: Math.ceil(endpoints / 100) }, (_, s) =>
    endpointSlice('ns-0', 'app-0', backendPort, Math.min(100, endpoints - s * 100), s),
  );
  return { ...view, endpointSlices: slices as unknown as ClusterView['endpointSlices'] };
}

/**
 * Changes of the one big Service's slices that each really change something: slice `s` loses one endpoint,
 * or gets it back if it had lost it (setting 100 on a slice that has 100 gives an unchanged snapshot).
 */
export class BigSliceFlips {
  #sizes = new Map<number, number>();
  readonly port: number;

  constructor(port: number) {
    this.port = port;
  }

  next(view: ClusterView, s: number): ClusterView {
    const count = (this.#sizes.get(s) ?? 100) === 100 ? 99 : 100;
    this.#sizes.set(s, count);
    return withBigSliceChange(view, s, this.port, count);
  }
}

/** A copy of the big-Service view where slice `s` has `count` endpoints (a pod of the Service came or went). */
export function withBigSliceChange(view: ClusterView, s: number, port: number, count: number): ClusterView {
  const slices = view.endpointSlices.slice();
  const at = s % slices.length;
  slices[at] = endpointSlice('ns-0', 'app-0', port, count, at) as (typeof slices)[number];
  return { ...view, endpointSlices: slices };
}
