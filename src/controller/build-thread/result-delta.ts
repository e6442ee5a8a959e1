import { applyListDelta, type ListDelta, listDelta } from '../../snapshot/list-delta.ts';
import type { BuildResult, ObjectStatus } from '../build/index.ts';
import type { GatewayApiStatus } from '../gateway/index.ts';
import type { Diagnostic } from '../view.ts';

/**
 * A build's diagnostics and statuses as a change to the last ones sent: `null` is "the same as before" (the
 * receiver keeps its very objects, so status sync sees identity and skips, as it does for an endpoint change).
 * Statuses travel as a keyed delta: at 10,000 Ingresses one edited object changes one status, not 10,000.
 */
export interface ResultDelta {
  diagnostics: Diagnostic[] | null;
  statuses: ListDelta<ObjectStatus> | null;
  /** `undefined` inside the array wrapper: the build had no Gateway API objects. */
  gatewayApi: { list: GatewayApiStatus[] | undefined } | null;
}

type Outcome = Pick<BuildResult, 'diagnostics' | 'statuses' | 'gatewayApi'>;

const statusKey = (s: ObjectStatus) => `${s.kind}/${s.namespace}/${s.name}`;

/** The build thread's side: what changed in the results since the last ones it sent. */
export class ResultSender {
  #last: Outcome | undefined;
  #lastJson = { diagnostics: '', gatewayApi: '' };

  next(result: Outcome): ResultDelta {
    const last = this.#last;
    this.#last = result;
    const diagnostics = JSON.stringify(result.diagnostics);
    const gatewayApi = JSON.stringify(result.gatewayApi ?? null);
    const out: ResultDelta = {
      diagnostics: last && diagnostics === this.#lastJson.diagnostics ? null : result.diagnostics,
      statuses: null,
      gatewayApi: last && gatewayApi === this.#lastJson.gatewayApi ? null : { list: result.gatewayApi },
    };
    this.#lastJson = { diagnostics, gatewayApi };
    const statuses = listDelta(last?.statuses, result.statuses, statusKey, (a, b) => this.#same(a, b));
    if (statuses !== undefined) out.statuses = statuses;
    return out;
  }

  // Statuses are new objects every full build: compare their content (10,000 of them per Ingress change),
  // field by field: every field of ObjectStatus but the key (kind, namespace, name) and of ObjectCondition.
  #same(a: ObjectStatus, b: ObjectStatus): boolean {
    if (a.accepted !== b.accepted || a.resolvedRefs !== b.resolvedRefs) return false;
    if (a.uid !== b.uid || a.generation !== b.generation) return false;
    if (a.conditions.length !== b.conditions.length) return false;
    for (let i = 0; i < a.conditions.length; i++) {
      const x = a.conditions[i]!;
      const y = b.conditions[i]!;
      if (x.type !== y.type || x.status !== y.status || x.reason !== y.reason || x.message !== y.message)
        return false;
    }
    return true;
  }
}

/** The serving thread's side: the results rebuilt from deltas, unchanged parts kept as the same objects. */
export class ResultReceiver {
  #current: Outcome = { diagnostics: [], statuses: [] };

  apply(delta: ResultDelta): Outcome {
    const next: Outcome = {
      diagnostics: delta.diagnostics ?? this.#current.diagnostics,
      statuses:
        delta.statuses === null
          ? this.#current.statuses
          : (applyListDelta(this.#current.statuses, delta.statuses, statusKey) as ObjectStatus[]),
    };
    const gatewayApi = delta.gatewayApi === null ? this.#current.gatewayApi : delta.gatewayApi.list;
    if (gatewayApi !== undefined) next.gatewayApi = gatewayApi;
    this.#current = next;
    return next;
  }

  /** A new build thread sends everything again. */
  reset(): void {
    this.#current = { diagnostics: [], statuses: [] };
  }
}
