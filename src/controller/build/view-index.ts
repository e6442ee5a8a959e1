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
      this.#slices = {
        list: view.endpointSlices,
        map: slicesByService(view.endpointSlices, this.#slices?.map),
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
