import { applyListDelta, type ListDelta, listDelta } from '../../snapshot/list-delta.ts';
import type { ClusterView } from '../view.ts';

type ListName = keyof ClusterView;
type Entry = { metadata?: { namespace?: string; name?: string } };

/** One list of the view: a keyed delta of its objects, or the whole list (short, unkeyed, or absent). */
type ListChange =
  | { name: ListName; delta: ListDelta<Entry> }
  | { name: ListName; whole: unknown[] | undefined };

/** What changed in the view since the last one sent; lists not named are the same arrays as before. */
export type ViewDelta = ListChange[];

const NAMES: readonly ListName[] = [
  'ingresses',
  'ingressClasses',
  'services',
  'endpointSlices',
  'secrets',
  'stickyRoutes',
  'gatewayClasses',
  'gateways',
  'httpRoutes',
  'referenceGrants',
  'namespaces',
  'rejected',
];
/** Lists this short go whole: a delta would not be smaller. */
const WHOLE_UP_TO = 16;

const keyOf = (o: Entry) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * The serving thread's side of the build thread's view (issue 13 item 3): the objects that changed since the
 * last view, found by identity (the store replaces an object when it changes, never edits it), so one edited
 * Ingress at 10,000 crosses the thread boundary as one object, not the whole cluster.
 */
export class ViewDiffer {
  #last: ClusterView | undefined;

  /** The delta from the last view passed here to `view`; every list whole the first time and after reset(). */
  next(view: ClusterView): ViewDelta {
    const last = this.#last;
    this.#last = view;
    const out: ViewDelta = [];
    for (const name of NAMES) {
      const now = view[name] as Entry[] | undefined;
      const before = last?.[name] as Entry[] | undefined;
      if (last !== undefined && now === before) continue;
      if (now === undefined || before === undefined || name === 'rejected' || now.length <= WHOLE_UP_TO) {
        out.push({ name, whole: now });
        continue;
      }
      const delta = listDelta(before, now, keyOf);
      if (delta !== undefined) out.push({ name, delta });
    }
    return out;
  }

  /** Forget what was sent: the next delta carries every list whole (a new build thread). */
  reset(): void {
    this.#last = undefined;
  }
}

/**
 * The build thread's copy of the view, kept by applying deltas. Lists not in a delta stay the same arrays, so
 * the build's caches (by list and by object identity) work there as they do on the serving thread.
 */
export class ViewMirror {
  #view: Record<string, unknown[] | undefined> = {};

  apply(delta: ViewDelta): ClusterView {
    const view = { ...this.#view };
    for (const change of delta) {
      if ('whole' in change) view[change.name] = change.whole;
      else
        view[change.name] = applyListDelta(
          (view[change.name] ?? []) as Entry[],
          change.delta,
          keyOf,
        ) as Entry[];
    }
    for (const name of NAMES) if (view[name] === undefined) delete view[name];
    this.#view = view;
    return view as unknown as ClusterView;
  }
}
