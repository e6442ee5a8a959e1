import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { ManifestFolderError } from '../src/controller/manifests/index.ts';
import { SnapshotPublisher } from '../src/controller/publisher.ts';
import { AdminServer } from '../src/dataplane/admin-server.ts';
import { Dataplane } from '../src/dataplane/dataplane.ts';
import { loadAffinityKey } from './affinity-key.ts';
import { parseCommand } from './args.ts';
import type { Io } from './check.ts';
import type { ServeConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { helpText, serveKeys } from './help.ts';
import { createLogger, type ProcessLogger } from './logger.ts';
import { startStandalone, type ViewSource } from './standalone.ts';

/** The parts of a running `serve`, in start order; `stop` undoes them in reverse. */
interface Running {
  dataplane: Dataplane;
  admin: AdminServer;
  source: ViewSource | undefined;
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
  const state = { applied: false, draining: false };
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
  });
  await dataplane.start();
  const admin = new AdminServer({
    bindAddress: config.adminBindAddress,
    port: config.adminPort,
    ready: () => state.applied && !state.draining && !dataplane.draining,
    logger,
  });
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
  const publisher = new SnapshotPublisher(
    { ingressClass: config.ingressClass, defaultCertificate: config.defaultCertificate },
    (snapshot) => {
      dataplane.apply(snapshot);
      state.applied = true;
      logger.info({ version: snapshot.version, hash: snapshot.hash }, 'snapshot applied');
    },
  );
  const running: Running = { dataplane, admin, source: undefined };
  const stopped = waitForSignals(config, running, state, log);
  try {
    running.source =
      config.manifests !== undefined
        ? await startStandalone(config.manifests, publisher, logger)
        : await startCluster(config, publisher, logger);
  } catch (err) {
    // Nothing to serve: release the listeners so the process can exit with the error.
    await dataplane.shutdown({ drainTimeoutMs: 0 });
    await admin.close();
    log.flushSync();
    if (err instanceof ManifestFolderError) throw new ConfigError(`--manifests: ${err.message}`);
    throw err;
  }
  return stopped;
}

/** First SIGTERM/SIGINT drains (readyz fails at once, listeners close after shutdownDelay); a second exits now. */
function waitForSignals(
  config: ServeConfig,
  running: Running,
  state: { draining: boolean },
  log: ProcessLogger,
): Promise<number> {
  const { logger } = log;
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (state.draining) {
        logger.warn({ signal }, 'second signal: exiting without draining');
        log.flushSync();
        process.exit(1);
      }
      state.draining = true;
      logger.info(
        { signal, shutdownDelayMs: config.shutdownDelay, drainTimeoutMs: config.drainTimeout },
        'shutting down: not ready',
      );
      setTimeout(() => {
        stop(config, running, logger).then(
          () => resolve(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            resolve(1);
          },
        );
      }, config.shutdownDelay);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

async function stop(config: ServeConfig, running: Running, logger: Logger): Promise<void> {
  await running.source?.close();
  logger.info('draining connections');
  await running.dataplane.shutdown({ drainTimeoutMs: config.drainTimeout });
  await running.admin.close();
  logger.info('stopped');
}

/** A thrown error nobody caught leaves state unknown: log it and exit 1 (the pod restarts). */
function installCrashLogging(log: ProcessLogger): void {
  process.on('uncaughtException', (err) => {
    log.logger.fatal({ err }, `uncaught exception: ${err.message}`);
    log.flushSync();
    process.exit(1);
  });
  // A stray rejected promise is a bug worth a log line, not a reason to drop every open WebSocket.
  process.on('unhandledRejection', (reason) => {
    log.logger.error({ err: reason }, 'unhandled promise rejection');
  });
}

/** Cluster mode lives in src/controller/k8s; loaded by URL so the executable builds before that part lands. */
async function startCluster(
  config: ServeConfig,
  publisher: SnapshotPublisher,
  logger: Logger,
): Promise<ViewSource> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const url = new URL(`../src/controller/k8s/index${ext}`, import.meta.url);
  if (!existsSync(url)) {
    throw new ConfigError('cluster mode not built yet: run with --manifests DIR (standalone mode)');
  }
  const mod = (await import(url.href)) as {
    startClusterController?: (c: ServeConfig, p: SnapshotPublisher, l: Logger) => Promise<ViewSource>;
  };
  if (typeof mod.startClusterController !== 'function') {
    throw new ConfigError('cluster mode not built yet: src/controller/k8s has no startClusterController');
  }
  return mod.startClusterController(config, publisher, logger);
}
