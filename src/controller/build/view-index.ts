import { canonicalJson } from '../../snapshot/hash.ts';
import type { ClusterView } from '../view.ts';
import { asArray, compareStrings, isRecord, metadataOf, str } from './meta.ts';

/** Lookups the processors need, built once per build: Services, EndpointSlices by Service, Secrets. */
export interface ViewIndex {
  service(namespace: string, name: string): Record<string, unknown> | undefined;
  /** EndpointSlices labelled `kubernetes.io/service-name: <name>`, sorted by slice name. */
  slices(namespace: string, service: string): readonly Record<string, unknown>[];
  secret(namespace: string, name: string): Record<string, unknown> | undefined;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function indexView(view: ClusterView): ViewIndex {
  const services = byName(view.services);
  const secrets = byName(view.secrets);
  const slices = new Map<string, Record<string, unknown>[]>();
  for (const slice of asArray<unknown>(view.endpointSlices)) {
    if (!isRecord(slice)) continue;
    const m = metadataOf(slice);
    const labels = isRecord(m.labels) ? m.labels : {};
    const service = str(labels[SERVICE_NAME_LABEL]);
    if (!service) continue;
    const key = `${str(m.namespace) ?? 'default'}/${service}`;
    const list = slices.get(key) ?? [];
    list.push(slice);
    slices.set(key, list);
  }
  for (const list of slices.values()) {
    list.sort((a, b) => compareStrings(str(metadataOf(a).name) ?? '', str(metadataOf(b).name) ?? ''));
  }
  return {
    service: (ns, name) => services.get(`${ns}/${name}`),
    slices: (ns, service) => slices.get(`${ns}/${service}`) ?? [],
    secret: (ns, name) => secrets.get(`${ns}/${name}`),
  };
}

// Duplicate names only occur in garbage input; keep the smaller serialisation so input order never matters.
function byName(list: unknown): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
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
