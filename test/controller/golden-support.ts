import { readFileSync } from 'node:fs';
import { loadAllYaml } from '@kubernetes/client-node';
import { decodeObject } from '../../src/controller/objects.ts';
import { type BuildOptions, type ClusterView, emptyView } from '../../src/controller/view.ts';

/** Options every golden case builds with, unless its folder has an `options.json` to merge over them. */
export const BASE_OPTIONS: BuildOptions = { ingressClass: 'sticky' };

const LISTS = {
  Ingress: 'ingresses',
  IngressClass: 'ingressClasses',
  Service: 'services',
  EndpointSlice: 'endpointSlices',
  Secret: 'secrets',
  StickyRoute: 'stickyRoutes',
  GatewayClass: 'gatewayClasses',
  Gateway: 'gateways',
  HTTPRoute: 'httpRoutes',
  ReferenceGrant: 'referenceGrants',
  Namespace: 'namespaces',
} as const;

/**
 * Multi-document YAML of Kubernetes objects -> the view `build` reads, sorted into lists by kind and decoded
 * at the same edge the store and the manifest folder use (a test input that does not decode is a test bug).
 */
export function viewFromYaml(text: string): ClusterView {
  const view = emptyView() as unknown as Record<string, unknown[]>;
  for (const obj of loadAllYaml(text)) {
    if (!obj) continue;
    const list = LISTS[obj.kind as keyof typeof LISTS];
    if (!list) throw new Error(`unexpected kind ${obj.kind} in test input`);
    const decoded = decodeObject(obj.kind as keyof typeof LISTS, obj);
    if (!decoded.ok) throw new Error(decoded.diagnostic.message);
    view[list] ??= [];
    (view[list] as unknown[]).push(decoded.object);
  }
  return view as unknown as ClusterView;
}

/** The view of a YAML file. */
export function viewFromFile(path: string): ClusterView {
  return viewFromYaml(readFileSync(path, 'utf8'));
}
