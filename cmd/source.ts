import type { Logger } from 'pino';
import { type ControllerObserver, startClusterController } from '../src/controller/k8s/index.ts';
import type { Publisher } from '../src/controller/publisher.ts';
import { ConfigError, KubeConfigError, ManifestFolderError } from '../src/shared/errors.ts';
import type { ServeConfig } from './config.ts';
import { startStandalone, type ViewSource } from './standalone.ts';

/** A running view source; `ready` is the cluster's "listed everything once" (absent: always ready). */
export type RunningSource = ViewSource & { ready?(): boolean };

/**
 * Starts the configuration side: the manifest folder with --manifests, else the cluster controller (informers,
 * leader election, status). Its problems with the settings become ConfigError (exit 2).
 */
export async function startSource(
  config: ServeConfig,
  publisher: Publisher,
  logger: Logger,
  observer: ControllerObserver | undefined,
): Promise<RunningSource> {
  try {
    if (config.manifests !== undefined)
      return await startStandalone(config.manifests, publisher, logger, observer);
    return await startClusterController(config, {
      publisher,
      logger,
      ...(observer ? { observer } : {}),
    });
  } catch (err) {
    if (err instanceof ManifestFolderError) throw new ConfigError(`--manifests: ${err.message}`);
    if (err instanceof KubeConfigError) throw new ConfigError(err.message);
    throw err;
  }
}
