import type { Route, Snapshot, VirtualHost } from '../../snapshot/index.ts';
import { type CompiledConfig, type CompiledHost, compileHost } from './compile.ts';

/**
 * What a swap changed, for the compiled tables: the VirtualHost objects that left and came (a host replaced
 * under its name is in both), and the backend ids whose upstream state is a new object or gone.
 */
export interface CompileChange {
  readonly removed: readonly VirtualHost[];
  readonly added: readonly VirtualHost[];
  readonly backends: Iterable<string>;
}

/**
 * compileSnapshot for what changed only (issue 13 item 3): `snapshot` differs from `previous.snapshot` by
 * `change`, and every other host is the very same (frozen) object routing to the very same upstream states,
 * so only the hosts that came and those routing to a changed backend are compiled; the rest keep their
 * compiled object. Equal to compileSnapshot(snapshot, resolve, previous).
 */
export function patchCompiled<B>(
  snapshot: Snapshot,
  resolve: (id: string) => B | undefined,
  previous: CompiledConfig<B>,
  change: CompileChange,
): CompiledConfig<B> {
  const index = indexOf(previous);
  // The maps are updated in place, not copied (three copies of 10,000 entries were most of a change): only
  // the dataplane holds them and requests read them synchronously in decide(), so no reader ever sees a
  // half-updated map, and `previous` is never used again once this config is live.
  const tables = new Tables(previous);
  for (const vhost of change.removed) {
    tables.remove(vhost);
    for (const id of backendsOf(vhost)) {
      const hosts = index.get(id);
      hosts?.delete(vhost);
      // Backend ids come and go with their Services: an empty entry would stay for good.
      if (hosts?.size === 0) index.delete(id);
    }
  }
  const todo = new Set<VirtualHost>(change.added);
  for (const vhost of change.added) {
    for (const id of backendsOf(vhost)) {
      const hosts = index.get(id);
      if (hosts === undefined) index.set(id, new Set([vhost]));
      else hosts.add(vhost);
    }
  }
  for (const id of change.backends) for (const vhost of index.get(id) ?? []) todo.add(vhost);
  for (const vhost of todo) tables.set(vhost, compileHost(vhost, resolve));
  return tables.config(snapshot, index);
}

/**
 * The endpoint-only fast path of compileSnapshot: `snapshot` carries the very same host list as `previous`,
 * so only the hosts routing to a backend in `changed` (whose upstream state is new) are compiled again;
 * every other host is the previous compiled object. Equal to compileSnapshot(snapshot, resolve, previous).
 */
export function recompileBackends<B>(
  snapshot: Snapshot,
  resolve: (id: string) => B | undefined,
  previous: CompiledConfig<B>,
  changed: Iterable<string>,
): CompiledConfig<B> {
  return patchCompiled(snapshot, resolve, previous, { removed: [], added: [], backends: changed });
}

/** The lookup tables of a config, edited in place for the hosts that left and the hosts (re)compiled. */
class Tables<B> {
  readonly exact: Map<string, CompiledHost<B>>;
  readonly wildcard: Map<string, CompiledHost<B>>;
  readonly byVhost: Map<VirtualHost, CompiledHost<B>>;
  catchAll: CompiledHost<B> | undefined;
  deepWildcards: number;

  constructor(previous: CompiledConfig<B>) {
    this.exact = previous.exact as Map<string, CompiledHost<B>>;
    this.wildcard = previous.wildcard as Map<string, CompiledHost<B>>;
    this.byVhost = previous.byVhost as Map<VirtualHost, CompiledHost<B>>;
    this.catchAll = previous.catchAll;
    this.deepWildcards = previous.deepWildcards;
  }

  remove(vhost: VirtualHost): void {
    const host = this.byVhost.get(vhost);
    this.byVhost.delete(vhost);
    if (host === undefined) return;
    const name = vhost.hostname.toLowerCase();
    if (name === '*') {
      if (this.catchAll === host) this.catchAll = undefined;
    } else if (name.startsWith('*.')) {
      if (this.wildcard.get(name.slice(2)) !== host) return;
      this.wildcard.delete(name.slice(2));
      if (host.deep !== undefined) this.deepWildcards--;
    } else if (this.exact.get(name) === host) this.exact.delete(name);
  }

  set(vhost: VirtualHost, host: CompiledHost<B>): void {
    this.byVhost.set(vhost, host);
    const name = vhost.hostname.toLowerCase();
    // Two VirtualHosts never share a name in a snapshot (the builder merges them; snapshot-diff.ts checks).
    if (name === '*') this.catchAll = host;
    else if (name.startsWith('*.')) {
      const key = name.slice(2);
      this.deepWildcards +=
        Number(host.deep !== undefined) - Number(this.wildcard.get(key)?.deep !== undefined);
      this.wildcard.set(key, host);
    } else this.exact.set(name, host);
  }

  config(snapshot: Snapshot, byBackend: Map<string, Set<VirtualHost>>): CompiledConfig<B> {
    const { exact, wildcard, deepWildcards, catchAll, byVhost } = this;
    return { snapshot, exact, wildcard, deepWildcards, catchAll, byVhost, byBackend };
  }
}

// Which hosts route to each backend id: built once from a full compile's hosts, then kept by the patches.
function indexOf<B>(config: CompiledConfig<B>): Map<string, Set<VirtualHost>> {
  if (config.byBackend !== undefined) return config.byBackend as Map<string, Set<VirtualHost>>;
  const index = new Map<string, Set<VirtualHost>>();
  for (const vhost of config.byVhost.keys()) {
    for (const id of backendsOf(vhost)) {
      const hosts = index.get(id);
      if (hosts === undefined) index.set(id, new Set([vhost]));
      else hosts.add(vhost);
    }
  }
  return index;
}

/** Every backend id a host's routes resolve: the route's, its canary's and its split's. */
function backendsOf(vhost: VirtualHost): string[] {
  const ids: string[] = [];
  for (const r of vhost.routes) pushBackends(r, ids);
  return ids;
}

function pushBackends(r: Route, ids: string[]): void {
  ids.push(r.backend);
  if (r.canary !== undefined) ids.push(r.canary.backend);
  if (r.split !== undefined) for (const e of r.split) if (e.backend !== undefined) ids.push(e.backend);
}
