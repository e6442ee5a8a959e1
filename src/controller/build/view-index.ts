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
          (previous && replacedSlices(previous.list, view.endpointSlices, previous.map)) ??
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
 * The store replaces a changed object in place (same position, same length): then only the groups of the
 * replaced slices' Services are regrouped, from the new list's members of those Services, and every other
 * group is the previous one. The map is updated in place (a copy of 10,000 groups per EndpointSlice event was
 * most of an endpoint change at 10,000 Services): a ViewIndex is read only by the build it was made for.
 * Undefined, the map untouched, when the lists differ in length or in more than a few positions.
 */
function replacedSlices(before: unknown, after: unknown, map: SlicesByService): SlicesByService | undefined {
  const at = replacedPositions(before, after);
  if (at === undefined) return undefined;
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const i of at) {
    const was = (before as unknown[])[i];
    const now = (after as unknown[])[i];
    const key = serviceKey(now);
    // A slice that moved to another Service (or is not one): regroup everything.
    if (key === null || key === undefined || key !== serviceKey(was)) return undefined;
    const group = groups.get(key) ?? map.get(key)?.slice();
    const j = group?.indexOf(was as Record<string, unknown>) ?? -1;
    if (group === undefined || j < 0) return undefined;
    group[j] = now as Record<string, unknown>;
    groups.set(key, group);
  }
  for (const [key, group] of groups) {
    const old = map.get(key) as readonly Record<string, unknown>[];
    if (group.length > 1) {
      group.sort((a, b) => compareStrings(str(metadataOf(a).name) ?? '', str(metadataOf(b).name) ?? ''));
    }
    const changed = group.flatMap((s, k) => (s === old[k] ? [] : [k]));
    if (changed.length === 1) derived.set(group, { from: old, at: changed[0] as number });
    map.set(key, group);
  }
  return map;
}

/** How a Service's slice list came from the previous one: the same but for the slice at `at`. */
export interface SliceListDerivation {
  readonly from: readonly Record<string, unknown>[];
  readonly at: number;
}

// Per slice list made by replacedSlices (an immutable array): the list it was made from.
const derived = new WeakMap<readonly object[], SliceListDerivation>();

/** Whether `slices` (a ViewIndex slice list) is the previous list of its Service with one slice replaced. */
export function sliceListDerivation(slices: readonly object[]): SliceListDerivation | undefined {
  return derived.get(slices);
}

/**
 * Positions where two equally long arrays hold different objects; undefined when they are not arrays of one
 * length or differ in more than 16 positions (a full pass is then as cheap).
 */
export function replacedPositions(before: unknown, after: unknown): number[] | undefined {
  if (!Array.isArray(before) || !Array.isArray(after) || before.length !== after.length) return undefined;
  const at: number[] = [];
  for (let i = 0; i < after.length; i++) {
    if (before[i] === after[i]) continue;
    if (at.length === 16) return undefined;
    at.push(i);
  }
  return at;
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
