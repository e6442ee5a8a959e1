import type {
  EndpointSlice,
  GatewayApiObject,
  Ingress,
  IngressClass,
  Namespace,
  Secret,
  Service,
} from './objects.ts';
import type { StickyRoute } from './stickyroute/types.ts';

/**
 * Everything `build` reads: the objects of one moment, as the store (cluster mode) or the manifest
 * folder (standalone mode) holds them, decoded at that edge (objects.ts). Plain data; `build` never mutates it.
 */
export interface ClusterView {
  ingresses: readonly Ingress[];
  ingressClasses: readonly IngressClass[];
  services: readonly Service[];
  endpointSlices: readonly EndpointSlice[];
  /** Only Secrets of type kubernetes.io/tls. */
  secrets: readonly Secret[];
  stickyRoutes: readonly StickyRoute[];
  /**
   * Gateway API objects (gateway.networking.k8s.io/v1), envelope decoded at the store's edge (objects.ts);
   * the builder reads their specs defensively. Absent when the CRDs are not installed.
   */
  gatewayClasses?: readonly GatewayApiObject[];
  gateways?: readonly GatewayApiObject[];
  httpRoutes?: readonly GatewayApiObject[];
  referenceGrants?: readonly GatewayApiObject[];
  /** Namespaces with their labels, for Gateway `allowedRoutes.namespaces.from: Selector`. */
  namespaces?: readonly Namespace[];
  /** Objects that did not decode at the store's edge (reason `InvalidObject`); build reports them as they are. */
  rejected?: readonly Diagnostic[];
}

/** A view with no objects: the start of every source, and what a missing view builds as. */
export function emptyView(): ClusterView {
  return {
    ingresses: [],
    ingressClasses: [],
    services: [],
    endpointSlices: [],
    secrets: [],
    stickyRoutes: [],
  };
}

/** Settings of the build that do not come from objects. */
export interface BuildOptions {
  /** IngressClass name this controller answers to (`--ingress-class`, default `sticky`). */
  ingressClass: string;
  /** `NAMESPACE/NAME` of the Secret serving SNI names no host claims (`--default-certificate`). */
  defaultCertificate?: string;
  /**
   * Accept loopback endpoint addresses (127.0.0.0/8, ::1). Standalone mode (`--manifests`, `check`) sets it:
   * its manifests name local backends. Off in cluster mode, where a loopback endpoint is a tenant pointing the
   * ingress at the node itself (CVE-2021-25740 class). Link-local, unspecified and multicast are always refused.
   */
  allowLoopbackEndpoints?: boolean;
  /** GatewayClass `spec.controllerName` this controller answers to; default `sticky-ingress.dev/controller`. */
  gatewayControllerName?: string;
}

/** Why an object (or one field of it) was skipped or changed. Turned into log lines, Events, conditions. */
export interface Diagnostic {
  severity: 'Warning' | 'Error';
  object: { kind: string; namespace: string; name: string; uid?: string; generation?: number };
  /** Dotted path of the offending field, e.g. `metadata.annotations["sticky-ingress.dev/load-balance"]`. */
  field?: string;
  /** Stable, CamelCase reason, e.g. `InvalidAnnotation`, `SecretNotFound`, `PathConflict`. */
  reason: string;
  message: string;
}
