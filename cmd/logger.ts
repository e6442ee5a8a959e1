import pino, { type DestinationStream, type Logger } from 'pino';

/** The process logger: JSON lines on stdout, written asynchronously; call `flushSync` before exiting. */
export interface ProcessLogger {
  logger: Logger;
  /** Shared with the access log, so both write through one buffer and their lines never interleave. */
  destination: DestinationStream;
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
    destination,
    flushSync: () => {
      try {
        destination.flushSync();
      } catch {
        // Not yet open (nothing written) or stdout closed: nothing to flush.
      }
    },
  };
}
