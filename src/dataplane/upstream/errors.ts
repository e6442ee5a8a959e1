/** Codes of the errors the upstream layer throws; stable, so callers and tests can match on them. */
export type UpstreamErrorCode = 'STICKY_UPSTREAM_BAD_OPTION';

/** A misuse of the upstream layer detected at construction (bad options), never on the request path. */
export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;

  constructor(code: UpstreamErrorCode, message: string) {
    super(message);
    this.name = 'UpstreamError';
    this.code = code;
  }
}
