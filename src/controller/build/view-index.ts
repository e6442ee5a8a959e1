import { canonicalJson } from '../../snapshot/hash.ts';
import type { ClusterView } from '../view.ts';
import { asArray, compareStrings, isRecord, metadataOf, str } from './meta.ts';

/**
 * Lookups the processors need: Services, EndpointSlices by Service, Secrets. A value that did not change
 * between two indexes of one ViewIndexer is the very same object (or array), so callers compare by identity.
 */
export interface ViewIndex {
  service(namespace: string, name: string): Record<string, unknown> | undefined;
  /** EndpointSlices labelled `kubernetes.io/service-name: <name>`, sorted by slice name. */
  slices(namespace: string, service: string): readonly Record<string, unknown>[];
  secret(namespace: string, name: string): Record<string, unknown> | undefined;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const NO_SLICES: readonly Record<string, unknown>[] = Object.freeze([]);

type ByName = Map<string, Record<string, unknown>>;
type SlicesByService = Map<string, readonly Record<string, unknown>[]>;

/**
 * Indexes successive views: a list (by array identity) that did not change is not indexed again, and the
 * slice list of a Service whose slices did not change keeps its identity.
 */
export class ViewIndexer {
  #services: { list: unknown; map: ByName } | undefined;
  #secrets: { list: unknown; map: ByName } | undefined;
  #slices: { list: unknown; map: SlicesByService } | undefined;

  index(view: ClusterView): ViewIndex {
    if (this.#services === undefined || this.#services.list !== view.services) {
      this.#services = { list: view.services, map: byName(view.services) };
    }
    if (this.#secrets === undefined || this.#secrets.list !== view.secrets) {
      this.#secrets = { list: view.secrets, map: byName(view.secrets) };
    }
    if (this.#slices === undefined || this.#slices.list !== view.endpointSlices) {
      const previous = this.#slices;
      this.#slices = {
        list: view.endpointSlices,
        map:
          (previous && editedSlices(previous.list, view.endpointSlices, previous.map)) ??
          slicesByService(view.endpointSlices, previous?.map),
      };
    }
    const services = this.#services.map;
    const secrets = this.#secrets.map;
    const slices = this.#slices.map;
    return {
      service: (ns, name) => services.get(`${ns}/${name}`),
      slices: (ns, service) => slices.get(`${ns}/${service}`) ?? NO_SLICES,
      secret: (ns, name) => secrets.get(`${ns}/${name}`),
    };
  }
}

/**
 * The store replaces a changed object in place and inserts or drops one at its sorted position: the edits
 * between the two lists (listEdits) say which Services' groups change, and only those are regrouped; every
 * other group is the previous one. The map is updated in place (a copy of 10,000 groups per EndpointSlice
 * event was most of an endpoint change at 10,000 Services, a regroup of all slices most of an added or removed
 * slice): a ViewIndex is read only by the build it was made for. Undefined, the map untouched, when the lists
 * differ in more than a few places.
 */
function editedSlices(before: unknown, after: unknown, map: SlicesByService): SlicesByService | undefined {
  const edits = listEdits(before, after);
  if (edits === undefined) return undefined;
  const groups = new Map<string, Record<string, unknown>[]>();
  const group = (key: string) => {
    let g = groups.get(key);
    if (g === undefined) {
      g = map.get(key)?.slice() ?? [];
      groups.set(key, g);
    }
    return g;
  };
  for (const { was, now } of edits) {
    const wasKey = was === undefined ? undefined : serviceKey(was);
    const nowKey = now === undefined ? undefined : serviceKey(now);
    if (wasKey === null || nowKey === null) return undefined;
    if (wasKey !== undefined) {
      const g = group(wasKey);
      const j = g.indexOf(was as Record<string, unknown>);
      if (j < 0) return undefined;
      if (nowKey === wasKey) {
        g[j] = now as Record<string, unknown>;
        continue;
      }
      g.splice(j, 1);
    }
    if (nowKey !== undefined) group(nowKey).push(now as Record<string, unknown>);
  }
  for (const [key, g] of groups) {
    const old = map.get(key) ?? NO_SLICES;
    if (g.length > 1) {
      g.sort((a, b) => compareStrings(str(metadataOf(a).name) ?? '', str(metadataOf(b).name) ?? ''));
    }
    if (g.length === old.length) {
      const changed = g.flatMap((s, k) => (s === old[k] ? [] : [k]));
      if (changed.length === 1) derived.set(g, { from: old, at: changed[0] as number });
    }
    if (g.length === 0) map.delete(key);
    else map.set(key, g);
  }
  return map;
}

/** One difference between two lists: an object replaced in place (`was` and `now`), removed or inserted. */
export interface ListEdit {
  readonly was?: unknown;
  readonly now?: unknown;
}

/**
 * The edits (by identity) that turn `before` into `after`, in one walk: equal runs are skipped, a mismatch
 * resyncs on the nearest insertion or removal, else counts as a replacement in place. Undefined when they are
 * not arrays or need more than `max` edits (a full pass is then as cheap). The store's lists change this way:
 * one object replaced, inserted or dropped at its sorted position.
 */
export function listEdits(before: unknown, after: unknown, max = 16): ListEdit[] | undefined {
  if (!Array.isArray(before) || !Array.isArray(after)) return undefined;
  if (Math.abs(before.length - after.length) > max) return undefined;
  const edits: ListEdit[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    if (i < before.length && j < after.length && before[i] === after[j]) {
      i++;
      j++;
      continue;
    }
    if (edits.length >= max) return undefined;
    if (i >= before.length) edits.push({ now: after[j++] });
    else if (j >= after.length) edits.push({ was: before[i++] });
    else {
      const k = resync(before, after, i, j, max - edits.length);
      if (k > 0) for (const end = j + k; j < end; ) edits.push({ now: after[j++] });
      else if (k < 0) for (const end = i - k; i < end; ) edits.push({ was: before[i++] });
      else edits.push({ was: before[i++], now: after[j++] });
    }
  }
  return edits.length > max ? undefined : edits;
}

// k > 0: `after` has k objects inserted at j; k < 0: `before` has -k objects removed at i; 0: neither.
function resync(before: unknown[], after: unknown[], i: number, j: number, budget: number): number {
  for (let k = 1; k <= budget; k++) {
    if (j + k < after.length && after[j + k] === before[i]) return k;
    if (i + k < before.length && before[i + k] === after[j]) return -k;
  }
  return 0;
}

/** How a Service's slice list came from the previous one: the same but for the slice at `at`. */
export interface SliceListDerivation {
  readonly from: readonly Record<string, unknown>[];
  readonly at: number;
}

// Per slice list made by editedSlices (an immutable array): the list it was made from.
const derived = new WeakMap<readonly object[], SliceListDerivation>();

/** Whether `slices` (a ViewIndex slice list) is the previous list of its Service with one slice replaced. */
export function sliceListDerivation(slices: readonly object[]): SliceListDerivation | undefined {
  return derived.get(slices);
}

// `namespace/service` of a slice; undefined for one of no Service, null for something that is not an object.
function serviceKey(slice: unknown): string | undefined | null {
  if (!isRecord(slice)) return null;
  const m = metadataOf(slice);
  const labels = isRecord(m.labels) ? m.labels : {};
  const service = str(labels[SERVICE_NAME_LABEL]);
  return service ? `${str(m.namespace) ?? 'default'}/${service}` : undefined;
}

function slicesByService(list: unknown, previous: SlicesByService | undefined): SlicesByService {
  const slices = new Map<string, Record<string, unknown>[]>();
  for (const slice of asArray<unknown>(list)) {
    if (!isRecord(slice)) continue;
    const m = metadataOf(slice);
    const labels = isRecord(m.labels) ? m.labels : {};
    const service = str(labels[SERVICE_NAME_LABEL]);
    if (!service) continue;
    const key = `${str(m.namespace) ?? 'default'}/${service}`;
    const group = slices.get(key);
    if (group) group.push(slice);
    else slices.set(key, [slice]);
  }
  const out: SlicesByService = new Map();
  for (const [key, group] of slices) {
    if (group.length > 1) {
      group.sort((a, b) => compareStrings(str(metadataOf(a).name) ?? '', str(metadataOf(b).name) ?? ''));
    }
    const before = previous?.get(key);
    const same =
      before !== undefined && before.length === group.length && before.every((s, i) => s === group[i]);
    out.set(key, same ? before : group);
  }
  return out;
}

// Duplicate names only occur in garbage input; keep the smaller serialisation so input order never matters.
function byName(list: unknown): ByName {
  const out: ByName = new Map();
  for (const obj of asArray<unknown>(list)) {
    if (!isRecord(obj)) continue;
    const m = metadataOf(obj);
    const name = str(m.name);
    if (!name) continue;
    const key = `${str(m.namespace) ?? 'default'}/${name}`;
    const seen = out.get(key);
    if (!seen || canonicalJson(obj) < canonicalJson(seen)) out.set(key, obj);
  }
  return out;
}
