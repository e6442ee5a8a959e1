import type { Diagnostic } from '../view.ts';
import type { BuildContext } from './context.ts';
import { compareStrings } from './meta.ts';

/** A status condition in metav1.Condition shape, minus the times the status writer adds. */
export interface ObjectCondition {
  type: 'Accepted' | 'ResolvedRefs';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/**
 * What the build made of one Ingress or StickyRoute, for its status and Events. `Programmed` is not here:
 * only the caller knows when the dataplane applied the snapshot.
 */
export interface ObjectStatus {
  kind: 'Ingress' | 'StickyRoute';
  namespace: string;
  name: string;
  uid?: string;
  generation?: number;
  /** False when the object was skipped as a whole (invalid spec, internal error). */
  accepted: boolean;
  /** False when a Service, Service port or Secret it names is missing or unusable. */
  resolvedRefs: boolean;
  conditions: ObjectCondition[];
}

const MAX_MESSAGES = 5;

/** Statuses of every object the build owned, sorted by kind/namespace/name. */
export function statusesOf(ctx: BuildContext): ObjectStatus[] {
  const out: ObjectStatus[] = [];
  for (const { ref, rejected, refs, other } of ctx.statusAccumulators()) {
    const status: ObjectStatus = {
      kind: ref.kind as ObjectStatus['kind'],
      namespace: ref.namespace,
      name: ref.name,
      accepted: rejected.length === 0,
      resolvedRefs: refs.length === 0,
      conditions: [
        rejected.length > 0
          ? condition('Accepted', 'False', rejected)
          : { type: 'Accepted', status: 'True', reason: 'Accepted', message: summary(other) || 'Accepted' },
        refs.length > 0
          ? condition('ResolvedRefs', 'False', refs)
          : {
              type: 'ResolvedRefs',
              status: 'True',
              reason: 'ResolvedRefs',
              message: 'All references resolved',
            },
      ],
    };
    if (ref.uid) status.uid = ref.uid;
    if (ref.generation !== undefined) status.generation = ref.generation;
    out.push(status);
  }
  return out.sort((a, b) =>
    compareStrings(`${a.kind}/${a.namespace}/${a.name}`, `${b.kind}/${b.namespace}/${b.name}`),
  );
}

function condition(type: ObjectCondition['type'], status: 'False', list: Diagnostic[]): ObjectCondition {
  const sorted = sortDiagnostics(list);
  return { type, status, reason: sorted[0]!.reason, message: summary(sorted) };
}

function summary(list: Diagnostic[]): string {
  const sorted = sortDiagnostics(list);
  const lines = sorted.slice(0, MAX_MESSAGES).map((d) => (d.field ? `${d.field}: ${d.message}` : d.message));
  if (sorted.length > MAX_MESSAGES) lines.push(`and ${sorted.length - MAX_MESSAGES} more`);
  return lines.join('; ');
}

function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) => `${d.field ?? ''}\u0000${d.reason}\u0000${d.message}`;
  return [...new Map(list.map((d) => [key(d), d])).values()].sort((a, b) => compareStrings(key(a), key(b)));
}
