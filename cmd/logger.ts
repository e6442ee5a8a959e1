import pino, { type Logger } from 'pino';

/** The process logger: JSON lines on stdout, written asynchronously; call `flushSync` before exiting. */
export interface ProcessLogger {
  logger: Logger;
  flushSync(): void;
}

export function createLogger(level: string): ProcessLogger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 0 });
  const logger = pino(
    { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  );
  return {
    logger,
    flushSync: () => {
      try {
        destination.flushSync();
      } catch {
        // Not yet open (nothing written) or stdout closed: nothing to flush.
      }
    },
  };
}
