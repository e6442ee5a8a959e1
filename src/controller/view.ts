import type {
  V1EndpointSlice,
  V1Ingress,
  V1IngressClass,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import type { StickyRoute } from './stickyroute/types.ts';

/**
 * Everything `build` reads: the objects of one moment, as the store (cluster mode) or the manifest
 * folder (standalone mode) holds them. Plain data; `build` never mutates it.
 */
export interface ClusterView {
  ingresses: readonly V1Ingress[];
  ingressClasses: readonly V1IngressClass[];
  services: readonly V1Service[];
  endpointSlices: readonly V1EndpointSlice[];
  /** Only Secrets of type kubernetes.io/tls. */
  secrets: readonly V1Secret[];
  stickyRoutes: readonly StickyRoute[];
  /**
   * Gateway API objects (gateway.networking.k8s.io/v1), decoded no further than the API server's schema:
   * the builder reads them defensively. Absent when the CRDs are not installed.
   */
  gatewayClasses?: readonly unknown[];
  gateways?: readonly unknown[];
  httpRoutes?: readonly unknown[];
  referenceGrants?: readonly unknown[];
  /** Namespaces with their labels, for Gateway `allowedRoutes.namespaces.from: Selector`. */
  namespaces?: readonly unknown[];
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
