import { collectDefaultMetrics, Registry } from 'prom-client';

/** Prefix of every metric sticky-ingress exports. */
export const METRIC_PREFIX = 'sticky_ingress_';

/** Options of createRegistry. */
export interface RegistryOptions {
  /** Node process metrics (CPU, memory, event-loop lag, GC, handles) under the same prefix; true by default. */
  processMetrics?: boolean;
}

/**
 * A fresh registry for one process (never prom-client's global default registry), so tests can run several
 * dataplanes side by side. Pass it to the dataplane observability and to ControllerMetrics.
 */
export function createRegistry(options: RegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
