/** Base of the cluster controller's errors; `code` is stable (`SI_K8S_*`). */
export class ClusterControllerError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClusterControllerError';
    this.code = code;
  }
}

/** A request to the API server failed: `statusCode` is the HTTP status, 0 when no answer came. */
export class KubeRequestError extends ClusterControllerError {
  readonly statusCode: number;
  readonly method: string;
  readonly path: string;
  constructor(method: string, path: string, statusCode: number, message: string) {
    super('SI_K8S_REQUEST', `${method} ${path}: ${statusCode === 0 ? 'no answer' : statusCode} ${message}`);
    this.name = 'KubeRequestError';
    this.statusCode = statusCode;
    this.method = method;
    this.path = path;
  }
}

/** The kubeconfig could not be loaded or names no cluster. */
export class KubeConfigError extends ClusterControllerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SI_K8S_KUBECONFIG', message, options);
    this.name = 'KubeConfigError';
  }
}

/** The HTTP status of any error the API machinery threw (ours, client-node's watch or ApiException). */
export function statusOf(err: unknown): number {
  if (err instanceof KubeRequestError) return err.statusCode;
  const e = err as { statusCode?: unknown; code?: unknown } | undefined;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  if (typeof e?.code === 'number') return e.code;
  return 0;
}
