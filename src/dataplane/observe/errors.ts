/** Codes of the errors the observability layer throws; stable, so callers and tests can match on them. */
export type ObserveErrorCode = 'STICKY_OBSERVE_BAD_OPTION';

/** A misuse detected at construction (bad options), never on the request path. */
export class ObserveError extends Error {
  readonly code: ObserveErrorCode;

  constructor(code: ObserveErrorCode, message: string) {
    super(message);
    this.name = 'ObserveError';
    this.code = code;
  }
}
