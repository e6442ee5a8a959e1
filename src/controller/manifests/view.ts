import {
  type DecodedKinds,
  decodeObject,
  type EndpointSlice,
  type GatewayApiObject,
  type Ingress,
  type IngressClass,
  type Namespace,
  type Secret,
  type Service,
} from '../objects.ts';
import type { StickyRoute } from '../stickyroute/types.ts';
import type { ClusterView } from '../view.ts';
import type { ManifestObject, ManifestProblem } from './parse.ts';

/** The objects of several files, in file-name order, sorted into a view. */
export interface ManifestView {
  view: ClusterView;
  /**
   * Duplicates (same kind, namespace and name in two places: the first one in file-name order wins), and
   * objects that do not decode (objects.ts; skipped, the rest is served).
   */
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

/**
 * Sorts objects into a ClusterView the way the informers would see them: only the kinds `build` reads, only
 * TLS Secrets, `stringData` folded into `data` (the API server does the same on write).
 */
export function toClusterView(files: ReadonlyMap<string, readonly ManifestObject[]>): ManifestView {
  const ingresses: Ingress[] = [];
  const ingressClasses: IngressClass[] = [];
  const services: Service[] = [];
  const endpointSlices: EndpointSlice[] = [];
  const secrets: Secret[] = [];
  const stickyRoutes: StickyRoute[] = [];
  const gw = {
    gatewayClasses: [] as GatewayApiObject[],
    gateways: [] as GatewayApiObject[],
    httpRoutes: [] as GatewayApiObject[],
    referenceGrants: [] as GatewayApiObject[],
    namespaces: [] as Namespace[],
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
      const decode = <K extends keyof DecodedKinds>(kind: K, raw: unknown): DecodedKinds[K] | undefined => {
        const decoded = decodeObject(kind, raw);
        if (decoded.ok) return decoded.object;
        problems.push({ file, object: id, message: decoded.diagnostic.message });
        return undefined;
      };
      const push = <T>(list: T[], value: T | undefined) => value !== undefined && list.push(value);
      switch (obj.kind) {
        case 'Ingress':
          push(ingresses, decode('Ingress', obj));
          break;
        case 'IngressClass':
          push(ingressClasses, decode('IngressClass', obj));
          break;
        case 'Service':
          push(services, decode('Service', obj));
          break;
        case 'EndpointSlice':
          push(endpointSlices, decode('EndpointSlice', obj));
          break;
        case 'Secret':
          if (obj.type === TLS_SECRET) push(secrets, decode('Secret', foldStringData(obj)));
          else ignored += 1;
          break;
        case 'StickyRoute':
          push(stickyRoutes, decode('StickyRoute', obj));
          break;
        case 'Namespace':
          push(gw.namespaces, decode('Namespace', obj));
          break;
        default: {
          // Gateway API kinds (v1, and v1beta1 for ReferenceGrant), read as the informers would list them.
          const kind = obj.kind as keyof typeof GATEWAY_KINDS;
          const list = group === GATEWAY_GROUP ? GATEWAY_KINDS[kind] : undefined;
          if (list !== undefined) push(gw[list], decode(kind, obj));
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

/** The API server's write-time folding of `stringData` into `data` (base64), before decoding. */
function foldStringData(secret: ManifestObject): ManifestObject {
  const { stringData, ...rest } = secret;
  if (stringData === undefined || stringData === null || typeof stringData !== 'object') return secret;
  const data: Record<string, unknown> = { ...(rest.data as Record<string, unknown> | undefined) };
  for (const [k, v] of Object.entries(stringData))
    data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  return { ...rest, data };
}
