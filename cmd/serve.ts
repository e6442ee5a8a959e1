import type { Logger } from 'pino';
import { AdminServer } from '../src/admin/admin-server.ts';
import { ControllerMetrics } from '../src/controller/observe/controller-metrics.ts';
import type { Dataplane } from '../src/dataplane/dataplane.ts';
import { ConfigError } from '../src/shared/errors.ts';
import { createRegistry } from '../src/shared/metrics-registry.ts';
import { type AffinityKey, loadAffinityKey } from './affinity-key.ts';
import { parseCommand } from './args.ts';
import type { Io } from './check.ts';
import type { ServeConfig } from './config.ts';
import { createDataplaneSide, type DataplaneSide } from './dataplane-side.ts';
import { helpText, serveKeys } from './help.ts';
import { createLogger, type ProcessLogger } from './logger.ts';
import { type ClosablePublisher, createPublisher } from './publisher.ts';
import { installCrashLogging, waitForSignals } from './signals.ts';
import { type RunningSource, startSource } from './source.ts';

/** The parts of a running single-process `serve`; `stop` undoes them in reverse start order. */
export interface Running {
  dataplane: Dataplane;
  side: DataplaneSide;
  admin: AdminServer;
  /** Absent with --metrics false. */
  metrics: ControllerMetrics | undefined;
  /** Set once the folder or cluster source started. */
  source: RunningSource | undefined;
  /** Builds what the source sees (in the build thread by default); set with the source. */
  publisher?: ClosablePublisher;
  applied: boolean;
  draining: boolean;
}

/**
 * `sticky-ingress serve`: parse settings, start the dataplane and admin listeners, then the view source
 * (folder or cluster). With --workers > 1 the dataplanes run in worker processes (cmd/cluster/primary.ts).
 * Resolves to the exit code once a signal has drained and stopped everything.
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
  installCrashLogging(log);
  if (affinity.generated) {
    log.logger.warn(
      'no --affinity-key-file: using a random key, so affinity cookies will not agree across replicas or restarts',
    );
  }
  if (config.workers > 1) {
    const { runPrimary } = await import('./cluster/primary.ts');
    return runPrimary(config, affinity, log, env);
  }
  return runSingle(config, affinity, log);
}

async function runSingle(config: ServeConfig, affinity: AffinityKey, log: ProcessLogger): Promise<number> {
  const { logger } = log;
  const running = await startListeners(config, affinity, log);
  running.publisher = createPublisher(config, (snapshot) => {
    running.dataplane.apply(snapshot);
    running.applied = true;
    running.metrics?.swap(snapshot.version, new Date());
    logger.info({ version: snapshot.version, hash: snapshot.hash }, 'snapshot applied');
  });
  const stopped = waitForSignals(config, running, log, () => stop(config, running, logger));
  try {
    running.source = await startSource(config, running.publisher, logger, running.metrics);
  } catch (err) {
    // Nothing to serve: release the listeners so the process can exit with the error.
    await running.dataplane.shutdown({ drainTimeoutMs: 0 });
    await running.publisher.close();
    await running.admin.close();
    log.flushSync();
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
  const registry = config.metrics ? createRegistry() : undefined;
  const side = createDataplaneSide(config, affinity.key, log, registry);
  const { dataplane } = side;
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
    side,
    admin,
    metrics: registry ? new ControllerMetrics(registry) : undefined,
    source: undefined,
    applied: false,
    draining: false,
  };
  side.observability?.routes(admin);
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

/**
 * After the signal's shutdown delay: draining starts first (no new connections; in-flight requests finish),
 * then the view source stops (informers, status writes, Lease release) while the drain runs. Waiting for the
 * API server before draining would keep accepting traffic for as long as it is slow (issue 10 item 10).
 */
export async function stop(
  config: Pick<ServeConfig, 'drainTimeout'>,
  running: Pick<Running, 'dataplane' | 'source' | 'admin' | 'side' | 'publisher'>,
  logger: Logger,
): Promise<void> {
  logger.info('draining connections');
  const drained = running.dataplane.shutdown({ drainTimeoutMs: config.drainTimeout });
  await running.source?.close();
  await running.publisher?.close();
  logger.info('configuration source closed');
  await drained;
  await running.admin.close();
  await running.side.close();
  logger.info('stopped');
}
