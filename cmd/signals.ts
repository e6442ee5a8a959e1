import type { ServeConfig } from './config.ts';
import type { ProcessLogger } from './logger.ts';

/**
 * First SIGTERM/SIGINT: `draining` at once (so /readyz fails and endpoints controllers stop sending), then
 * `stop` after shutdownDelay. A second signal exits at once. Resolves to the exit code.
 */
export function waitForSignals(
  config: ServeConfig,
  state: { draining: boolean },
  log: ProcessLogger,
  stop: () => Promise<void>,
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
        stop().then(
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

/** A thrown error nobody caught leaves state unknown: log it and exit 1 (the pod restarts). */
export function installCrashLogging(log: ProcessLogger): void {
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
