import type { V1ObjectMeta } from '@kubernetes/client-node';

/** A StickyRoute object (sticky-ingress.dev/v1alpha1). Placeholder until the zod schema lands. */
export interface StickyRoute {
  apiVersion: 'sticky-ingress.dev/v1alpha1';
  kind: 'StickyRoute';
  metadata: V1ObjectMeta;
  spec: unknown;
  status?: unknown;
}
