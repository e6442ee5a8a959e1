import type { InformerSpec } from './supervised-informer.ts';

const TLS_SECRETS = 'type=kubernetes.io/tls';
const GATEWAY_V1 = 'gateway.networking.k8s.io/v1';

/**
 * The collections to watch: every namespaced kind cluster-wide (`namespaces` empty) or once per namespace,
 * and IngressClasses (cluster-scoped) always. Secrets only of type kubernetes.io/tls.
 */
export function informerSpecs(namespaces: readonly string[]): InformerSpec[] {
  const scopes: (string | undefined)[] = namespaces.length === 0 ? [undefined] : [...new Set(namespaces)];
  const specs: InformerSpec[] = [
    {
      kind: 'IngressClass',
      apiVersion: 'networking.k8s.io/v1',
      path: '/apis/networking.k8s.io/v1/ingressclasses',
    },
    // Gateway API (standard channel, v1): optional like StickyRoute, so a cluster without the CRDs (404)
    // keeps serving Ingresses.
    {
      kind: 'GatewayClass',
      apiVersion: GATEWAY_V1,
      path: `/apis/${GATEWAY_V1}/gatewayclasses`,
      optional: true,
    },
  ];
  for (const namespace of scopes) {
    const ns = namespace ? `/namespaces/${namespace}` : '';
    const scoped = namespace ? { namespace } : {};
    specs.push(
      {
        kind: 'Ingress',
        apiVersion: 'networking.k8s.io/v1',
        path: `/apis/networking.k8s.io/v1${ns}/ingresses`,
        ...scoped,
      },
      { kind: 'Service', apiVersion: 'v1', path: `/api/v1${ns}/services`, ...scoped },
      {
        kind: 'EndpointSlice',
        apiVersion: 'discovery.k8s.io/v1',
        path: `/apis/discovery.k8s.io/v1${ns}/endpointslices`,
        ...scoped,
      },
      {
        kind: 'Secret',
        apiVersion: 'v1',
        path: `/api/v1${ns}/secrets`,
        fieldSelector: TLS_SECRETS,
        ...scoped,
      },
      {
        kind: 'StickyRoute',
        apiVersion: 'sticky-ingress.dev/v1alpha1',
        path: `/apis/sticky-ingress.dev/v1alpha1${ns}/stickyroutes`,
        optional: true,
        ...scoped,
      },
      {
        kind: 'Gateway',
        apiVersion: GATEWAY_V1,
        path: `/apis/${GATEWAY_V1}${ns}/gateways`,
        optional: true,
        ...scoped,
      },
      {
        kind: 'HTTPRoute',
        apiVersion: GATEWAY_V1,
        path: `/apis/${GATEWAY_V1}${ns}/httproutes`,
        optional: true,
        ...scoped,
      },
      // ReferenceGrant is served as v1beta1 by every release (v1 since v1.5 with v1beta1 still stored).
      {
        kind: 'ReferenceGrant',
        apiVersion: 'gateway.networking.k8s.io/v1beta1',
        path: `/apis/gateway.networking.k8s.io/v1beta1${ns}/referencegrants`,
        optional: true,
        ...scoped,
      },
    );
  }
  return specs;
}

/**
 * Namespaces (cluster-scoped), for Gateway `allowedRoutes.namespaces.from: Selector`: their labels decide
 * which routes attach. Started only once a GatewayClass is seen (the Gateway API CRDs exist and are used);
 * optional, so a ServiceAccount without the chart's namespaces rule leaves Selector listeners admitting none.
 */
export function namespaceInformerSpec(): InformerSpec {
  return { kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces', optional: true };
}
