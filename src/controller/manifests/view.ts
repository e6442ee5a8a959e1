import type { ClusterView } from '../view.ts';
import type { ManifestObject, ManifestProblem } from './parse.ts';

/** The objects of several files, in file-name order, sorted into a view. */
export interface ManifestView {
  view: ClusterView;
  /** Duplicates (same kind, namespace and name in two places): the first one in file-name order wins. */
  problems: ManifestProblem[];
  /** Objects of kinds the builder does not read (e.g. Deployment), counted for a debug line. */
  ignored: number;
}

const TLS_SECRET = 'kubernetes.io/tls';
const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const GATEWAY_KINDS = {
  GatewayClass: 'gatewayClasses',
  Gateway: 'gateways',
  HTTPRoute: 'httpRoutes',
  ReferenceGrant: 'referenceGrants',
} as const;

// Element types follow ClusterView, so this file tracks the client's model names without naming them.
type V1Ingress = ClusterView['ingresses'][number];
type V1IngressClass = ClusterView['ingressClasses'][number];
type V1Service = ClusterView['services'][number];
type EndpointSlice = ClusterView['endpointSlices'][number];
type V1Secret = ClusterView['secrets'][number];
type StickyRoute = ClusterView['stickyRoutes'][number];

/**
 * Sorts objects into a ClusterView the way the informers would see them: only the kinds `build` reads, only
 * TLS Secrets, `stringData` folded into `data` (the API server does the same on write).
 */
export function toClusterView(files: ReadonlyMap<string, readonly ManifestObject[]>): ManifestView {
  const ingresses: V1Ingress[] = [];
  const ingressClasses: V1IngressClass[] = [];
  const services: V1Service[] = [];
  const endpointSlices: EndpointSlice[] = [];
  const secrets: V1Secret[] = [];
  const stickyRoutes: StickyRoute[] = [];
  const gw = {
    gatewayClasses: [] as unknown[],
    gateways: [] as unknown[],
    httpRoutes: [] as unknown[],
    referenceGrants: [] as unknown[],
    namespaces: [] as unknown[],
  };
  const problems: ManifestProblem[] = [];
  const seen = new Map<string, string>();
  let ignored = 0;
  for (const file of [...files.keys()].sort()) {
    for (const obj of files.get(file) ?? []) {
      const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
      const id = `${obj.kind} ${obj.metadata.namespace ?? 'default'}/${obj.metadata.name}`;
      const key = `${group}|${id}`;
      const first = seen.get(key);
      if (first !== undefined) {
        problems.push({
          file,
          object: id,
          message: `duplicate object, already defined in ${first}; ignored`,
        });
        continue;
      }
      seen.set(key, file);
      switch (obj.kind) {
        case 'Ingress':
          ingresses.push(obj as unknown as V1Ingress);
          break;
        case 'IngressClass':
          ingressClasses.push(obj as unknown as V1IngressClass);
          break;
        case 'Service':
          services.push(obj as unknown as V1Service);
          break;
        case 'EndpointSlice':
          endpointSlices.push(obj as unknown as EndpointSlice);
          break;
        case 'Secret':
          if (obj.type === TLS_SECRET) secrets.push(foldStringData(obj as unknown as V1Secret));
          else ignored += 1;
          break;
        case 'StickyRoute':
          stickyRoutes.push(obj as unknown as StickyRoute);
          break;
        case 'Namespace':
          gw.namespaces.push(obj);
          break;
        default: {
          // Gateway API kinds (v1, and v1beta1 for ReferenceGrant), read as the informers would list them.
          const list =
            group === GATEWAY_GROUP ? GATEWAY_KINDS[obj.kind as keyof typeof GATEWAY_KINDS] : undefined;
          if (list !== undefined) gw[list].push(obj);
          else ignored += 1;
        }
      }
    }
  }
  return {
    view: { ingresses, ingressClasses, services, endpointSlices, secrets, stickyRoutes, ...gw },
    problems,
    ignored,
  };
}

function foldStringData(secret: V1Secret): V1Secret {
  const stringData = (secret as V1Secret & { stringData?: Record<string, string> }).stringData;
  if (stringData === undefined) return secret;
  const data: Record<string, string> = { ...(secret.data ?? {}) };
  for (const [k, v] of Object.entries(stringData))
    data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  const { stringData: _dropped, ...rest } = secret as V1Secret & { stringData?: unknown };
  return { ...rest, data } as V1Secret;
}
