import { backendChanges, type Snapshot } from '../../snapshot/index.ts';
import type { Upstreams } from './upstreams.ts';

/** What the endpoint-only fast path changed: the backends whose state is new, the endpoint ids that left. */
export interface EndpointChanges {
  readonly backends: readonly string[];
  readonly gone: readonly string[];
}

/**
 * The endpoint-only fast path of a swap (issue 13 item 3): when `next` carries `previous`'s very host,
 * certificate and listener-certificate lists and only some Backend objects are new (an EndpointSlice changed), only those backends'
 * states are updated (Upstreams.patch), so a change at 10,000 Ingresses does not hold the event loop for a
 * full pass. Undefined, nothing changed, when that does not hold: the caller then updates in full.
 */
export function applyEndpointChanges(
  upstreams: Upstreams,
  previous: Snapshot,
  next: Snapshot,
): EndpointChanges | undefined {
  // backendChanges (src/snapshot/delta.ts) does not compare the Gateway listeners' certificates: a swap
  // that changes only those is no endpoint change, and TLS must follow it.
  if (previous.listenerCertificates !== next.listenerCertificates) return undefined;
  const changes = backendChanges(previous, next);
  if (changes === undefined) return undefined;
  const backends = changes.map((c) => c.backend);
  const gone = upstreams.patch(backends);
  if (gone === undefined) return undefined;
  return { backends: backends.map((b) => b.id), gone };
}
