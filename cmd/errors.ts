/** A bad flag, env value or argument: the message names it and the allowed form; the process exits 2. */
export class UsageError extends Error {
  readonly code = 'STICKY_ERR_USAGE';
  readonly exitCode = 2;
}

/** A setting is fine but the thing it names is not (unreadable key file, short key): exit 2 as well. */
export class ConfigError extends Error {
  readonly code = 'STICKY_ERR_CONFIG';
  readonly exitCode = 2;
}
