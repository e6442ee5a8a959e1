import { sortDiagnostics } from '../build/context.ts';
import { type OwnClasses, ownClasses, ownsIngress, referencesOf } from '../build/ingress-class.ts';
import { gatewayReferences } from '../gateway/references.ts';
import { type DecodedKinds, decodeObject, type Ingress } from '../objects.ts';
import type { ClusterView, Diagnostic } from '../view.ts';
import { WATCHED_KINDS, type WatchedKind } from './observer.ts';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** The minimum every stored object has. */
export interface StoredObject {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

const keyOf = (o: StoredObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * The cluster controller's cache: the objects the informers delivered, decoded (objects.ts) and keyed by kind
 * and namespace/name. One writer (the controller loop). `upsert`/`remove` answer whether the change can alter
 * the snapshot, so unreferenced Secrets, Services and EndpointSlices, foreign Ingresses and no-op resyncs cause
 * no rebuild. An object that does not decode is dropped (as if deleted) and reported by the next build.
 */
export class ClusterStore {
  readonly #objects = new Map<WatchedKind, Map<string, StoredObject>>();
  readonly #ingressClass: string;
  readonly #defaultCertificate: string | undefined;
  #refs: { services: Set<string>; secrets: Set<string> } | undefined;
  #ownClasses: OwnClasses | undefined;
  /** Sorted lists by kind, as view() last returned them; a list is a new array after any change to it. */
  #lists = new Map<WatchedKind, { keys: string[]; objects: StoredObject[] }>();
  /** `kind namespace/name` -> why that object did not decode. */
  readonly #rejected = new Map<string, Diagnostic>();
  #rejectedList: Diagnostic[] | undefined;

  constructor(options: { ingressClass: string; defaultCertificate?: string }) {
    this.#ingressClass = options.ingressClass;
    this.#defaultCertificate = options.defaultCertificate;
    for (const kind of WATCHED_KINDS) this.#objects.set(kind, new Map());
  }

  /** Decodes and stores `raw`; true when the snapshot (or its diagnostics) may change because of it. */
  upsert(kind: WatchedKind, raw: StoredObject): boolean {
    const map = this.#map(kind);
    const key = keyOf(raw);
    const old = map.get(key);
    const rv = raw.metadata?.resourceVersion;
    if (old && rv !== undefined && old.metadata?.resourceVersion === rv) return false;
    const decoded = decodeObject(kind, raw);
    if (!decoded.ok) {
      if (old !== undefined) this.remove(kind, old);
      this.#setRejected(`${kind} ${key}`, decoded.diagnostic);
      return true;
    }
    const wasRejected = this.#setRejected(`${kind} ${key}`, undefined);
    const obj: StoredObject = decoded.object;
    const relevantBefore = wasRejected || (old !== undefined && this.#relevant(kind, old));
    map.set(key, obj);
    this.#invalidate(kind);
    this.#editList(kind, key, obj);
    return relevantBefore || this.#relevant(kind, obj);
  }

  /** Forgets `obj`; true when the snapshot may change because of it. */
  remove(kind: WatchedKind, obj: StoredObject): boolean {
    const map = this.#map(kind);
    const key = keyOf(obj);
    const old = map.get(key);
    if (!old) return this.#setRejected(`${kind} ${key}`, undefined);
    const relevant = this.#relevant(kind, old);
    map.delete(key);
    this.#invalidate(kind);
    this.#editList(kind, key, undefined);
    return relevant;
  }

  /** The stored object, or undefined (also for a kind nothing stores). */
  get<T>(kind: WatchedKind, namespace: string, name: string): T | undefined {
    return this.#objects.get(kind)?.get(`${namespace}/${name}`) as T | undefined;
  }

  /** Every stored object of `kind`, sorted by namespace/name. */
  list<K extends WatchedKind>(kind: K): readonly DecodedKinds[K][] {
    return this.#sorted(kind);
  }

  /** Ingresses this controller serves (by IngressClass, legacy annotation or default class). */
  ownIngresses(): Ingress[] {
    return this.#sorted('Ingress').filter((i) => this.#ownsIngress(i));
  }

  /** The objects of this moment, sorted by namespace/name so equal stores give equal views. */
  view(): ClusterView {
    this.#rejectedList ??= sortDiagnostics([...this.#rejected.values()]);
    return {
      ingresses: this.#sorted('Ingress'),
      ingressClasses: this.#sorted('IngressClass'),
      services: this.#sorted('Service'),
      endpointSlices: this.#sorted('EndpointSlice'),
      secrets: this.#sorted('Secret'),
      stickyRoutes: this.#sorted('StickyRoute'),
      rejected: this.#rejectedList,
      gatewayClasses: this.#sorted('GatewayClass'),
      gateways: this.#sorted('Gateway'),
      httpRoutes: this.#sorted('HTTPRoute'),
      referenceGrants: this.#sorted('ReferenceGrant'),
      namespaces: this.#sorted('Namespace'),
    };
  }

  /** Records (or clears, with undefined) why `id` did not decode; true when there was a record before. */
  #setRejected(id: string, diagnostic: Diagnostic | undefined): boolean {
    const had = this.#rejected.has(id);
    if (diagnostic === undefined) this.#rejected.delete(id);
    else this.#rejected.set(id, diagnostic);
    if (had || diagnostic !== undefined) this.#rejectedList = undefined;
    return had;
  }

  #map(kind: WatchedKind): Map<string, StoredObject> {
    return this.#objects.get(kind) as Map<string, StoredObject>;
  }

  // Unchanged kinds keep their array, so the builder's cache skips them (EndpointSlice churn re-sorts nothing).
  #sorted<K extends WatchedKind>(kind: K): DecodedKinds[K][] {
    let list = this.#lists.get(kind);
    if (list === undefined) {
      const map = this.#map(kind);
      const keys = [...map.keys()].sort();
      list = { keys, objects: keys.map((k) => map.get(k) as StoredObject) };
      this.#lists.set(kind, list);
    }
    // Only decoded objects of `kind` enter its map (upsert).
    return list.objects as DecodedKinds[K][];
  }

  /**
   * A replaced, added (`obj`) or removed (undefined) object goes into a copy of its sorted list at its place:
   * an EndpointSlice coming or going re-sorts nothing (a sort of 10,000 keys per event), and every other
   * object stays at its position, so the builder sees one edit (build/view-index.ts listEdits).
   */
  #editList(kind: WatchedKind, key: string, obj: StoredObject | undefined): void {
    const list = this.#lists.get(kind);
    if (list === undefined) return;
    const i = lowerBound(list.keys, key);
    const found = list.keys[i] === key;
    const objects = list.objects.slice();
    let keys = list.keys;
    if (obj !== undefined && found) objects[i] = obj;
    else if (obj !== undefined) {
      keys = keys.slice();
      keys.splice(i, 0, key);
      objects.splice(i, 0, obj);
    } else if (found) {
      keys = keys.slice();
      keys.splice(i, 1);
      objects.splice(i, 1);
    } else return;
    this.#lists.set(kind, { keys, objects });
  }

  #invalidate(kind: WatchedKind): void {
    if (
      kind === 'Ingress' ||
      kind === 'StickyRoute' ||
      kind === 'IngressClass' ||
      kind === 'Gateway' ||
      kind === 'HTTPRoute'
    )
      this.#refs = undefined;
    if (kind === 'IngressClass') this.#ownClasses = undefined;
  }

  #relevant(kind: WatchedKind, obj: StoredObject): boolean {
    const ns = obj.metadata?.namespace ?? '';
    switch (kind) {
      case 'Ingress':
        return this.#ownsIngress(obj);
      case 'Service':
        return this.#references().services.has(keyOf(obj));
      case 'EndpointSlice': {
        const service = obj.metadata?.labels?.[SERVICE_NAME_LABEL];
        return service !== undefined && this.#references().services.has(`${ns}/${service}`);
      }
      case 'Secret':
        return this.#references().secrets.has(keyOf(obj));
      case 'Namespace':
        // Labels matter only to Gateway listeners (allowedRoutes Selector); none stored, no rebuild.
        return this.#map('Gateway').size > 0;
      default:
        return true;
    }
  }

  // The builder's own functions (build/ingress-class.ts): the store can never disagree on what is ours.
  #ownsIngress(ingress: StoredObject): boolean {
    return ownsIngress(this.#classes(), this.#ingressClass, ingress);
  }

  #classes(): OwnClasses {
    this.#ownClasses ??= ownClasses(this.#map('IngressClass').values(), this.#ingressClass);
    return this.#ownClasses;
  }

  #references(): { services: Set<string>; secrets: Set<string> } {
    if (this.#refs) return this.#refs;
    const services = new Set<string>();
    const secrets = new Set<string>();
    if (this.#defaultCertificate) secrets.add(this.#defaultCertificate);
    const add = (refs: { services: string[]; secrets: string[] }) => {
      for (const s of refs.services) services.add(s);
      for (const s of refs.secrets) secrets.add(s);
    };
    for (const ingress of this.#map('Ingress').values()) {
      if (this.#ownsIngress(ingress)) add(referencesOf('Ingress', ingress));
    }
    for (const route of this.#map('StickyRoute').values()) add(referencesOf('StickyRoute', route));
    add(gatewayReferences(this.#map('Gateway').values(), this.#map('HTTPRoute').values()));
    this.#refs = { services, secrets };
    return this.#refs;
  }
}

// The first position whose key is not below `key` (the keys are sorted by `<`, as Array.prototype.sort does).
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((keys[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
