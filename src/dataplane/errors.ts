/**
 * The dataplane's error catalogue: every error it throws carries a stable `code` (DP_ERR_*), so callers and
 * tests match on the code, never on the message text.
 */
export type DataplaneErrorCode =
  | 'DP_ERR_INVALID_OPTION'
  | 'DP_ERR_INVALID_CIDR'
  | 'DP_ERR_NOT_STARTED'
  | 'DP_ERR_ALREADY_STARTED'
  | 'DP_ERR_SHUT_DOWN'
  | 'DP_ERR_BAD_CERTIFICATE';

/** Base class of every error the dataplane throws; `code` is stable across releases. */
export class DataplaneError extends Error {
  readonly code: DataplaneErrorCode;

  constructor(code: DataplaneErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DataplaneError';
    this.code = code;
  }
}

/** A constructor option is missing or out of range; thrown by constructors, never on first use. */
export class InvalidOptionError extends DataplaneError {
  constructor(option: string, reason: string) {
    super('DP_ERR_INVALID_OPTION', `invalid dataplane option ${option}: ${reason}`);
    this.name = 'InvalidOptionError';
  }
}

/** A trusted-proxy entry is not an IPv4/IPv6 address or CIDR. */
export class InvalidCidrError extends DataplaneError {
  constructor(cidr: string) {
    super('DP_ERR_INVALID_CIDR', `invalid CIDR ${JSON.stringify(cidr)}: expected ADDRESS or ADDRESS/PREFIX`);
    this.name = 'InvalidCidrError';
  }
}

/** A lifecycle method was called in the wrong state (start twice, apply after shutdown, ...). */
export class LifecycleError extends DataplaneError {
  constructor(code: 'DP_ERR_NOT_STARTED' | 'DP_ERR_ALREADY_STARTED' | 'DP_ERR_SHUT_DOWN', message: string) {
    super(code, message);
    this.name = 'LifecycleError';
  }
}

/** A certificate or key of the snapshot does not parse, or the pair does not match. Logged, never thrown out of apply. */
export class BadCertificateError extends DataplaneError {
  readonly certificateId: string;

  constructor(certificateId: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super('DP_ERR_BAD_CERTIFICATE', `certificate ${certificateId} rejected: ${reason}`, { cause });
    this.name = 'BadCertificateError';
    this.certificateId = certificateId;
  }
}
