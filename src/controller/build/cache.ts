import type { X509Certificate } from 'node:crypto';
import type { Backend, Certificate, Route, VirtualHost } from '../../snapshot/types.ts';
import type { ClusterView } from '../view.ts';
import type { SecretProblem } from './certificates.ts';
import type { RouteCandidate } from './context.ts';
import { EndpointParts } from './endpoint-parts.ts';
import type { LastBuild, Patchable } from './endpoint-patch.ts';
import { type ObjectRef, type Rank, sortedObjects } from './meta.ts';
import type { Recording } from './recording.ts';
import { type ViewIndex, ViewIndexer } from './view-index.ts';

type Sorted = { obj: unknown; ref: ObjectRef; rank: Rank }[];

/**
 * What one build may reuse from the builds before it, so that a change to one object costs about one
 * object's work plus cheap passes over the rest (Contour's cache, plus memoised processors):
 * - each Ingress/StickyRoute's output, replayed while the object and everything it looked up are the
 *   very same objects (identity: the store replaces an object when it changes, never edits it);
 * - the index and the sorted order of a list that is the same array as last time;
 * - certificates by Secret object, backends/routes by route candidate, hosts whose routes did not change,
 *   so an unchanged part of the snapshot is the same (frozen) object and later stages skip it by identity.
 * The result is identical with or without a cache (the tests compare them). Views passed in must not be
 * mutated afterwards. One BuildCache per producer; not shared between concurrent builds.
 */
export class BuildCache {
  readonly #indexer = new ViewIndexer();
  readonly #sorted = new Map<string, { list: unknown; items: Sorted }>();
  /** Recordings by the Ingress/StickyRoute object they came from. */
  readonly recordings = new WeakMap<object, Recording>();
  /** Certificate (or why not) by Secret object. */
  readonly certificates = new WeakMap<object, { id: string; result: Certificate | SecretProblem }>();
  /** canonicalJson of a backend policy, by policy object. */
  readonly policyKeys = new WeakMap<object, string>();
  /** By BackendRequest (a route candidate's backend or split entry). */
  readonly backends = new WeakMap<object, Backend>();
  readonly routes = new WeakMap<RouteCandidate, Route>();
  /** Parsed certificate (null: unparsable) by Certificate object, for server-alias coverage. */
  readonly x509 = new WeakMap<object, X509Certificate | null>();
  /** Each EndpointSlice's endpoints and each Service's merged list, by slice object and slice list. */
  readonly endpoints = new EndpointParts();
  /** The hosts of the last build, by hostname. */
  hosts = new Map<string, VirtualHost>();
  /** The last build's view, options and result: the endpoint-only fast path starts from it (endpoint-patch.ts). */
  last: LastBuild<Patchable> | undefined;

  index(view: ClusterView): ViewIndex {
    return this.#indexer.index(view);
  }

  /** sortedObjects(kind, list), reused while `list` is the same array. */
  sorted(kind: string, list: unknown): Sorted {
    const seen = this.#sorted.get(kind);
    if (seen !== undefined && seen.list === list) return seen.items;
    const items = sortedObjects(kind, list);
    this.#sorted.set(kind, { list, items });
    return items;
  }
}
