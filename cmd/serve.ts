import type { Logger } from 'pino';
import { KubeConfigError, startClusterController } from '../src/controller/k8s/index.ts';
import { ManifestFolderError } from '../src/controller/manifests/index.ts';
import { SnapshotPublisher } from '../src/controller/publisher.ts';
import { AdminServer } from '../src/dataplane/admin-server.ts';
import { Dataplane } from '../src/dataplane/dataplane.ts';
import { createObservability, type Observability } from '../src/dataplane/observe/observability.ts';
import { ControllerMetrics } from '../src/observe/controller-metrics.ts';
import { createRegistry } from '../src/observe/registry.ts';
import { type AffinityKey, loadAffinityKey } from './affinity-key.ts';
import { parseCommand } from './args.ts';
import type { Io } from './check.ts';
import type { ServeConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { helpText, serveKeys } from './help.ts';
import { createLogger, type ProcessLogger } from './logger.ts';
import { clusterObserver } from './metrics.ts';
import { installCrashLogging, waitForSignals } from './signals.ts';
import { startStandalone, type ViewSource } from './standalone.ts';

/** The parts of a running `serve`; `stop` undoes them in reverse start order. */
export interface Running {
  dataplane: Dataplane;
  admin: AdminServer;
  observability: Observability;
  metrics: ControllerMetrics;
  /** Set once the folder or cluster source started; `ready` is the cluster's "listed everything once". */
  source: (ViewSource & { ready?(): boolean }) | undefined;
  applied: boolean;
  draining: boolean;
}

/**
 * `sticky-ingress serve`: parse settings, start the dataplane and admin listeners, then the view source
 * (folder or cluster). Resolves to the exit code once a signal has drained and stopped everything.
 */
export async function runServe(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const cmd = parseCommand(argv, env, serveKeys);
  if (cmd.help) {
    io.out(helpText('serve'));
    return 0;
  }
  if (cmd.positionals.length > 0) {
    throw new ConfigError(`serve takes no arguments (got ${cmd.positionals.join(' ')}); use --manifests DIR`);
  }
  const config = cmd.settings;
  const affinity = await loadAffinityKey(config.affinityKeyFile);
  const log = createLogger(config.logLevel);
  const { logger } = log;
  installCrashLogging(log);
  if (affinity.generated) {
    logger.warn(
      'no --affinity-key-file: using a random key, so affinity cookies will not agree across replicas or restarts',
    );
  }
  const running = await startListeners(config, affinity, log);
  const publisher = new SnapshotPublisher(
    { ingressClass: config.ingressClass, defaultCertificate: config.defaultCertificate },
    (snapshot) => {
      running.dataplane.apply(snapshot);
      running.applied = true;
      running.metrics.onSwap(snapshot.version, new Date());
      logger.info({ version: snapshot.version, hash: snapshot.hash }, 'snapshot applied');
    },
  );
  const stopped = waitForSignals(config, running, log, () => stop(config, running, logger));
  try {
    running.source =
      config.manifests !== undefined
        ? await startStandalone(config.manifests, publisher, logger, running.metrics)
        : await startClusterController(config, {
            publisher,
            logger,
            observer: clusterObserver(running.metrics),
          });
  } catch (err) {
    // Nothing to serve: release the listeners so the process can exit with the error.
    await running.dataplane.shutdown({ drainTimeoutMs: 0 });
    await running.admin.close();
    log.flushSync();
    if (err instanceof ManifestFolderError) throw new ConfigError(`--manifests: ${err.message}`);
    if (err instanceof KubeConfigError) throw new ConfigError(err.message);
    throw err;
  }
  return stopped;
}

/** Dataplane (with metrics and access log) and admin listener, bound; logs one `listening` line with the ports. */
async function startListeners(
  config: ServeConfig,
  affinity: AffinityKey,
  log: ProcessLogger,
): Promise<Running> {
  const { logger } = log;
  const registry = createRegistry();
  const observability = createObservability({
    registry,
    accessLog: config.accessLog ? { sample: config.accessLogSample, destination: log.destination } : false,
  });
  const dataplane = new Dataplane({
    bindAddress: config.bindAddress,
    httpPort: config.httpPort,
    httpsPort: config.httpsPort,
    affinityKey: affinity.key,
    trustedProxies: config.trustedProxies,
    maxHeaderSize: config.maxHeaderSize,
    requestHeaderTimeoutMs: config.requestHeaderTimeout,
    keepAliveTimeoutMs: config.keepAliveTimeout,
    logger,
    observer: observability.dataplane,
  });
  observability.attach(dataplane);
  await dataplane.start();
  const admin = new AdminServer({
    bindAddress: config.adminBindAddress,
    port: config.adminPort,
    ready: () =>
      running.applied && !running.draining && !dataplane.draining && (running.source?.ready?.() ?? true),
    logger,
  });
  const running: Running = {
    dataplane,
    admin,
    observability,
    metrics: new ControllerMetrics(registry),
    source: undefined,
    applied: false,
    draining: false,
  };
  observability.routes(admin);
  await admin.start();
  logger.info(
    {
      bindAddress: config.bindAddress,
      http: dataplane.ports.http,
      https: dataplane.ports.https,
      admin: admin.port,
    },
    'listening',
  );
  return running;
}

async function stop(config: ServeConfig, running: Running, logger: Logger): Promise<void> {
  await running.source?.close();
  logger.info('draining connections');
  await running.dataplane.shutdown({ drainTimeoutMs: config.drainTimeout });
  await running.admin.close();
  await running.observability.close();
  logger.info('stopped');
}
