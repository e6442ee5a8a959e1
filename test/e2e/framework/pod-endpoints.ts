import { BACKEND_READY_PATH } from './existing-cluster.ts';
import type { KubeClient } from './kube.ts';
import type { Backend } from './netns.ts';
import { type EndpointConditions, memberLabel } from './objects.ts';
import { waitFor } from './wait.ts';

/** A slice's entries as the suites write them (objects.ts `endpointSlice`). */
export type SliceEntry = Backend | { backend: Backend; conditions: EndpointConditions };

interface SliceJson {
  metadata: { labels?: Record<string, string> };
  endpoints?: { addresses: string[]; conditions?: EndpointConditions }[];
}

const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const entryOf = (e: SliceEntry) => ('backend' in e ? e : { backend: e, conditions: {} });

/**
 * Hand-written EndpointSlices turned into what a real cluster does (backends are Pods, podHost): the Pods of a
 * slice join the Service's selector (objects.ts memberLabel), `serving: false` fails a Pod's readinessProbe,
 * `terminating: true` deletes the Pod (it drains for 600 s); the cluster's own EndpointSlice controller then
 * writes the slices, and `set` resolves once they show the wanted endpoints and conditions.
 */
export class PodEndpoints {
  readonly #client: KubeClient;
  /** namespace/slice -> the Service it belongs to and its entries. */
  readonly #slices = new Map<string, { service: string; entries: SliceEntry[] }>();
  readonly #deleted = new Set<string>();
  /** Every backend a slice ever named: one that left every slice must lose its labels too. */
  readonly #known = new Map<string, Backend>();

  constructor(client: KubeClient) {
    this.#client = client;
  }

  /** Makes `service`'s endpoints the union of its slices, `slice` now holding `entries`. */
  async set(
    namespace: string,
    service: string,
    entries: readonly SliceEntry[],
    slice: string,
  ): Promise<void> {
    this.#slices.set(`${namespace}/${slice}`, { service, entries: [...entries] });
    await this.#apply(namespace, service);
  }

  /** Drops `slice` (as deleting a hand-written EndpointSlice would). */
  async remove(namespace: string, slice: string): Promise<void> {
    const known = this.#slices.get(`${namespace}/${slice}`);
    if (!known) return;
    this.#slices.delete(`${namespace}/${slice}`);
    await this.#apply(namespace, known.service);
  }

  async #apply(namespace: string, service: string): Promise<void> {
    const members = new Map<string, { backend: Backend; conditions: EndpointConditions }>();
    for (const [key, s] of this.#slices) {
      if (!key.startsWith(`${namespace}/`)) continue;
      for (const e of s.entries.map(entryOf)) {
        this.#known.set(`${namespace}/${e.backend.id}`, e.backend);
        if (s.service === service) members.set(e.backend.id, e);
      }
    }
    for (const [key, backend] of this.#known) {
      if (!key.startsWith(`${namespace}/`)) continue;
      const pod = podOf(backend);
      const patch = this.#client.request(
        'PATCH',
        `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}`,
        { metadata: { labels: { [memberLabel(service)]: members.has(backend.id) ? 'true' : null } } },
        'application/merge-patch+json',
      );
      // A deleted (terminating) Pod may be gone from the API already.
      await (this.#deleted.has(`${pod.namespace}/${pod.name}`) ? patch.catch(() => {}) : patch);
    }
    const want = new Map<string, Required<EndpointConditions>>();
    for (const { backend, conditions } of members.values()) {
      want.set(backend.address, await this.#state(backend, conditions));
    }
    await waitFor(async () => this.#matches(namespace, service, want), {
      timeoutMs: 90_000,
      intervalMs: 250,
      maxIntervalMs: 1_000,
      description: `the EndpointSlice controller's slices of ${namespace}/${service}: ${JSON.stringify([...want])}`,
    });
  }

  /** Puts the Pod in the state the conditions describe; returns the conditions the real controller will write. */
  async #state(backend: Backend, c: EndpointConditions): Promise<Required<EndpointConditions>> {
    const pod = podOf(backend);
    const serving = c.serving ?? true;
    const terminating = c.terminating ?? false;
    if ((c.ready ?? true) !== (serving && !terminating)) {
      throw new Error(`${pod.name}: ready must be serving && !terminating on a real cluster`);
    }
    const key = `${pod.namespace}/${pod.name}`;
    // A deleted Pod cannot come back; without traffic (serving false) the difference does not show.
    if (!terminating && this.#deleted.has(key) && serving) {
      throw new Error(
        `${pod.name} was deleted (terminating): a real Pod cannot serve as not terminating again`,
      );
    }
    await this.#client.request(
      'PUT',
      `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}:${backend.port}/proxy${BACKEND_READY_PATH}`,
      String(serving),
      'text/plain',
    );
    if (terminating && !this.#deleted.has(key)) {
      this.#deleted.add(key);
      await this.#client.request('DELETE', `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}`);
    }
    const gone = this.#deleted.has(key);
    return { ready: serving && !gone, serving, terminating: gone };
  }

  async #matches(namespace: string, service: string, want: Map<string, Required<EndpointConditions>>) {
    const slices = await this.#client.list<SliceJson>(
      'discovery.k8s.io/v1',
      'EndpointSlice',
      namespace,
      `labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`,
    );
    // Only the cluster's controller writes them here; a slice of anyone else would mean the test wrote it.
    const foreign = slices.filter(
      (s) => s.metadata.labels?.[MANAGED_BY] !== 'endpointslice-controller.k8s.io',
    );
    if (foreign.length > 0) throw new Error(`${namespace}/${service}: EndpointSlices not the controller's`);
    const seen = new Map<string, EndpointConditions>();
    for (const s of slices)
      for (const e of s.endpoints ?? []) for (const a of e.addresses) seen.set(a, e.conditions ?? {});
    if (seen.size !== want.size) return false;
    for (const [address, c] of want) {
      const got = seen.get(address);
      if (
        !got ||
        got.ready !== c.ready ||
        got.serving !== c.serving ||
        (got.terminating ?? false) !== c.terminating
      ) {
        return false;
      }
    }
    return true;
  }
}

function podOf(backend: Backend): { namespace: string; name: string } {
  if (!backend.pod)
    throw new Error(`backend ${backend.id} is not a Pod (start it with env.host() on the cluster)`);
  return backend.pod;
}
