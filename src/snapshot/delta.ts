import { DeltaMismatchError } from '../shared/errors.ts';
import { canonicalJson, deepFreeze } from './hash.ts';
import { applyListDelta, type ListDelta, listDelta } from './list-delta.ts';
import type {
  Backend,
  Certificate,
  Draft,
  Endpoint,
  ListenerCertificate,
  Snapshot,
  VirtualHost,
} from './types.ts';

/** One backend of an endpoint-only change: its position in both backend lists and its new object. */
export interface BackendChange {
  readonly index: number;
  readonly backend: Backend;
}

/**
 * The backends that are new objects in `next`, when `next` differs from `previous` only there (the controller's
 * endpoint fast path: the very same host and certificate lists, the same backend ids at the same positions);
 * undefined otherwise. The dataplane (apply) and `--workers` (deltas) decide the fast path by this one rule.
 */
export function backendChanges(previous: Snapshot, next: Snapshot): BackendChange[] | undefined {
  if (previous.hosts !== next.hosts || previous.certificates !== next.certificates) return undefined;
  if (previous.defaultCertificate !== next.defaultCertificate) return undefined;
  if (previous.listenerCertificates !== next.listenerCertificates) return undefined;
  const before = previous.backends;
  const now = next.backends;
  if (now.length !== before.length) return undefined;
  const changed: BackendChange[] = [];
  for (let i = 0; i < now.length; i++) {
    const b = now[i] as Backend;
    if (b === before[i]) continue;
    if (b.id !== (before[i] as Backend).id) return undefined;
    changed.push({ index: i, backend: b });
  }
  return changed;
}

/**
 * Any change from one snapshot to the next, as a change: each body list as a keyed delta (list-delta.ts; hosts
 * by hostname, backends and certificates by id), the small fields whole. What the build thread sends to the
 * serving thread, and `--workers` to each dataplane process, so the receiver parses, freezes and applies what
 * changed and keeps its own objects (and their hashes and compiled state) for the rest.
 */
export interface SnapshotChanges {
  /** Hash of the snapshot these changes apply to. */
  base: string;
  version: number;
  hash: string;
  hosts?: ListDelta<VirtualHost>;
  backends?: ListDelta<Backend>;
  certificates?: ListDelta<Certificate>;
  defaultCertificate?: string;
  /** Absent: the same as in the base snapshot; null: none. */
  listenerCertificates?: readonly ListenerCertificate[] | null;
}

const hostKey = (h: VirtualHost) => h.hostname;
const idKey = (p: { id: string }) => p.id;

/**
 * The changes from `previous` to `next`. Parts are compared by identity (the producer shares unchanged ones),
 * then by content: a full build after endpoint-only patches makes new objects for the patched backends with
 * the same content, and the receiver keeping its own keeps its apply and hashes cheap.
 */
export function snapshotChanges(previous: Snapshot, next: Snapshot): SnapshotChanges {
  const changes: SnapshotChanges = { base: previous.hash, version: next.version, hash: next.hash };
  const hosts = listDelta(previous.hosts, next.hosts, hostKey, sameContent);
  const backends = listDelta(previous.backends, next.backends, idKey, sameContent);
  const certificates = listDelta(previous.certificates, next.certificates, idKey, sameContent);
  if (hosts) changes.hosts = hosts;
  if (backends) changes.backends = backends;
  if (certificates) changes.certificates = certificates;
  if (next.defaultCertificate !== undefined) changes.defaultCertificate = next.defaultCertificate;
  const listeners = next.listenerCertificates;
  if (listeners !== previous.listenerCertificates) {
    if (listeners === undefined) changes.listenerCertificates = null;
    else if (!sameList(previous.listenerCertificates, listeners)) changes.listenerCertificates = listeners;
  }
  return changes;
}

/**
 * `current` with `changes` applied, deeply frozen, stamped with the sender's version and hash. Unchanged parts
 * are `current`'s own objects, and a changed backend keeps `current`'s Endpoint objects whose content did not
 * change, so the dataplane's apply and a hasher cost what changed. Throws DeltaMismatchError when the changes
 * were not made from `current` (the caller then asks for the whole snapshot).
 */
export function applySnapshotChanges(current: Snapshot, changes: SnapshotChanges): Snapshot {
  if (current.hash !== changes.base) {
    throw new DeltaMismatchError(`made from ${changes.base}, applied to ${current.hash}`);
  }
  const body: Draft<Omit<Snapshot, 'version' | 'hash'>> = {
    hosts: frozenList(current.hosts, changes.hosts, hostKey),
    backends: frozenList(current.backends, changes.backends, idKey, reuseUnchanged),
    certificates: frozenList(current.certificates, changes.certificates, idKey),
  };
  if (changes.defaultCertificate !== undefined) body.defaultCertificate = changes.defaultCertificate;
  const listeners =
    changes.listenerCertificates === undefined
      ? current.listenerCertificates
      : (changes.listenerCertificates ?? undefined);
  if (listeners !== undefined) body.listenerCertificates = deepFreeze(listeners);
  return Object.freeze({ ...body, version: changes.version, hash: changes.hash }) as Snapshot;
}

function sameList(a: readonly object[] | undefined, b: readonly object[]): boolean {
  return a !== undefined && canonicalJson(a) === canonicalJson(b);
}

// Only for parts that are not the same object (few per change); a backend of many endpoints counts as changed
// rather than serialised here.
function sameContent(a: object, b: object): boolean {
  const endpoints = (a as { endpoints?: unknown[] }).endpoints;
  if (endpoints !== undefined && endpoints.length > SAME_CONTENT_MAX_ENDPOINTS) return false;
  return canonicalJson(a) === canonicalJson(b);
}

const SAME_CONTENT_MAX_ENDPOINTS = 256;

function frozenList<T>(
  current: readonly T[],
  delta: ListDelta<T> | undefined,
  key: (t: T) => string,
  merge?: (before: T, now: T) => T,
) {
  if (delta === undefined) return current;
  const merged = (before: T | undefined, now: T) =>
    deepFreeze(merge !== undefined && before !== undefined ? merge(before, now) : now);
  return Object.freeze(applyListDelta(current, delta, key, merged)) as T[];
}

/**
 * `next` (parsed from a message: every object new) with `before`'s frozen objects wherever the content is the
 * same: the endpoints that did not change and the policy fields. Hashing (by object) and the dataplane's
 * apply (by identity) then cost what changed, not the 10,000 endpoints of a big Service.
 */
export function reuseUnchanged(before: Backend, next: Backend): Backend {
  const old = new Map<string, Endpoint>();
  for (const e of before.endpoints) old.set(e.id, e);
  const endpoints = next.endpoints.map((e) => {
    const o = old.get(e.id);
    return o !== undefined && sameEndpoint(o, e) ? o : e;
  });
  const { endpoints: _a, ...rest } = next;
  const { endpoints: _b, ...restBefore } = before;
  // The policy (everything but endpoints) rarely changes with an EndpointSlice; keep the old objects when not.
  const policy = canonicalJson(rest) === canonicalJson(restBefore) ? restBefore : rest;
  return { ...policy, endpoints } as Backend;
}

// An Endpoint's fields are all primitives: equal keys with equal values is equal content.
function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  const keys = Object.keys(a) as (keyof Endpoint)[];
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}
