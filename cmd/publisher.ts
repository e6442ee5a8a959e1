import { ThreadedPublisher } from '../src/controller/build-thread/threaded-publisher.ts';
import { type Publisher, SnapshotPublisher } from '../src/controller/publisher.ts';
import type { Snapshot } from '../src/snapshot/index.ts';
import type { ServeConfig } from './config.ts';

/** A publisher `serve` owns: closing it stops the build thread (a no-op for the in-thread one). */
export type ClosablePublisher = Publisher & { close(): Promise<void> };

/**
 * The publisher `serve` runs: the build thread (default, `--build-thread true`) or builds in this thread.
 * `apply` gets every new snapshot (the dataplane here, the worker pool with `--workers`).
 */
export function createPublisher(
  config: Pick<
    ServeConfig,
    'ingressClass' | 'gatewayControllerName' | 'defaultCertificate' | 'manifests' | 'buildThread'
  >,
  apply: (snapshot: Snapshot) => void,
): ClosablePublisher {
  const options = {
    ingressClass: config.ingressClass,
    gatewayControllerName: config.gatewayControllerName,
    defaultCertificate: config.defaultCertificate,
    // Standalone manifests name local backends; in a cluster a loopback endpoint is an attack (docs/security.md).
    allowLoopbackEndpoints: config.manifests !== undefined,
  };
  if (config.buildThread) return new ThreadedPublisher(options, apply);
  const publisher = new SnapshotPublisher(options, apply);
  return { publish: (view) => publisher.publish(view), close: async () => {} };
}
