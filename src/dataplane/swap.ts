import type { Route, Snapshot, VirtualHost } from '../snapshot/index.ts';
import { PassthroughTable } from './front/passthrough.ts';
import type { TlsContexts } from './front/tls-context.ts';
import type { PoolMap } from './http/http-proxy.ts';
import { type CompiledConfig, compileSnapshot } from './routing/compile.ts';
import { patchCompiled, recompileBackends } from './routing/compile-patch.ts';
import type { RateLimiters } from './routing/rate-limits.ts';
import { diffSnapshots } from './snapshot-diff.ts';
import { applyEndpointChanges } from './upstream/endpoint-changes.ts';
import type { BackendState, Upstreams } from './upstream/upstreams.ts';

/** What requests read of one snapshot: its compiled tables and its passthrough table, swapped together. */
export interface Live {
  readonly config: CompiledConfig<BackendState>;
  readonly passthrough: PassthroughTable;
}

/** The long-lived parts a swap reconciles (the Dataplane's). */
export interface SwapParts {
  readonly upstreams: Upstreams;
  readonly limits: RateLimiters;
  readonly pools: PoolMap;
  /** The TLS contexts once the listeners started (before that none: start() builds them in full). */
  tls(): TlsContexts | undefined;
  /** The default certificate changed: the HTTPS server's own options must follow. */
  defaultChanged(): void;
  /** An incremental path threw part-way; the full reconcile ran instead (the Dataplane logs it). */
  incrementalFailed(err: unknown): void;
}

/**
 * How Dataplane.apply moves every long-lived part to a new snapshot, in one of three ways with one result:
 * an endpoint-only change (the very same host and certificate lists) patches the changed backends; any other
 * change between snapshots that keep the builder's contract (frozen, sorted, an unchanged part the very same
 * object) is reconciled for what changed only (snapshot-diff.ts), so it costs what changed (issue 13 item 3);
 * anything else is reconciled in full.
 */
export class Swapper {
  #parts: SwapParts;
  #resolve: (id: string) => BackendState | undefined;
  /** The passthrough hosts of the current snapshot (few): the table is rebuilt from them alone. */
  #passthroughHosts = new Set<VirtualHost>();

  constructor(parts: SwapParts) {
    this.#parts = parts;
    this.#resolve = (id) => parts.upstreams.backend(id);
  }

  /**
   * Moves every part from `live`'s snapshot to `snapshot`; returns what requests read from now on. An
   * incremental path that throws part-way leaves some parts moved and others not; the full reconcile then
   * brings each part to `snapshot` from wherever it stands (it needs nothing of the previous snapshot but the
   * long-lived states), so one bug in a patch costs one full reconcile, not a half-applied configuration.
   */
  swap(live: Live, snapshot: Snapshot): Live {
    try {
      const fast = this.#endpoints(live, snapshot) ?? this.#patch(live, snapshot);
      if (fast !== undefined) return fast;
    } catch (err) {
      this.#parts.incrementalFailed(err);
    }
    return this.#full(live, snapshot);
  }

  // The endpoint-only fast path (upstream/endpoint-changes.ts): only the hosts routing to the changed
  // backends are compiled again. Undefined (nothing changed) when the snapshot is not an endpoint-only change.
  #endpoints(live: Live, snapshot: Snapshot): Live | undefined {
    const { upstreams, pools } = this.#parts;
    const changes = applyEndpointChanges(upstreams, live.config.snapshot, snapshot);
    if (changes === undefined) return undefined;
    const config = recompileBackends(snapshot, this.#resolve, live.config, changes.backends);
    pools.pruneEndpoints(changes.gone);
    return { config, passthrough: this.#passthrough(live, changes.backends, false) };
  }

  #patch(live: Live, snapshot: Snapshot): Live | undefined {
    const { upstreams, limits, pools } = this.#parts;
    const diff = diffSnapshots(live.config.snapshot, snapshot);
    if (diff === undefined) return undefined;
    const up = upstreams.reconcile(diff.backends, diff.certificates);
    if (up === undefined) return undefined;
    const { removed, added } = diff.hosts;
    const config = patchCompiled(snapshot, this.#resolve, live.config, {
      removed,
      added,
      backends: up.changed,
    });
    if (this.#parts.tls()?.patch(snapshot, diff.hosts, diff.certificates)) this.#parts.defaultChanged();
    limits.patch(routesOf(removed), routesOf(added));
    let moved = false;
    for (const h of removed) moved = this.#passthroughHosts.delete(h) || moved;
    for (const h of added) {
      if (h.passthrough === undefined) continue;
      this.#passthroughHosts.add(h);
      moved = true;
    }
    if (pools.size > 0) {
      pools.pruneRetired(up.retired, (id) => listing(upstreams, id));
    }
    return { config, passthrough: this.#passthrough(live, up.changed, moved) };
  }

  #full(live: Live, snapshot: Snapshot): Live {
    const { upstreams, limits, pools } = this.#parts;
    upstreams.update(snapshot.backends, snapshot.certificates);
    const config = compileSnapshot(snapshot, this.#resolve, live.config);
    if (this.#parts.tls()?.update(snapshot)) this.#parts.defaultChanged();
    limits.update(snapshot.hosts.flatMap((h) => h.routes));
    this.#passthroughHosts = new Set(snapshot.hosts.filter((h) => h.passthrough !== undefined));
    if (pools.size > 0) pools.prune(upstreams.backends());
    return { config, passthrough: this.#passthrough(live, [], true) };
  }

  // A new table when a passthrough host came or went, or one's backend state is new; else the same one.
  #passthrough(live: Live, changed: Iterable<string>, moved: boolean): PassthroughTable {
    if (!moved && this.#passthroughHosts.size > 0) {
      const ids = new Set(changed);
      for (const h of this.#passthroughHosts)
        moved ||= ids.has((h.passthrough as { backend: string }).backend);
    }
    return moved ? new PassthroughTable({ hosts: this.#passthroughHosts }, this.#resolve) : live.passthrough;
  }
}

function* routesOf(hosts: readonly VirtualHost[]): Iterable<Route> {
  for (const h of hosts) yield* h.routes;
}

function* listing(upstreams: Upstreams, endpointId: string): Iterable<BackendState> {
  for (const id of upstreams.owners(endpointId)) {
    const b = upstreams.backend(id);
    if (b !== undefined) yield b;
  }
}
