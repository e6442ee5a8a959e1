import type { ObjectMeta } from '../objects.ts';
import type { StickyRouteStatus } from './schema.ts';

export type { StickyRouteSpec, StickyRouteSpecInput, StickyRouteStatus } from './schema.ts';

/**
 * A StickyRoute object (sticky-ingress.dev/v1alpha1) as read from the API server or a manifest. Its spec is
 * unvalidated input: `build` runs `stickyRouteSpecSchema.safeParse` on it and reports what is wrong.
 */
export interface StickyRoute {
  apiVersion: 'sticky-ingress.dev/v1alpha1';
  kind: 'StickyRoute';
  metadata: ObjectMeta;
  /** Unvalidated: the builder's `stickyRouteSpecSchema.safeParse` reports each bad field. */
  spec: unknown;
  status?: StickyRouteStatus;
}
