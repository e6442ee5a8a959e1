import { HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch } from 'undici';
import { KubeRequestError } from '../../shared/errors.ts';

const METHODS = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
  PATCH: HttpMethod.PATCH,
  DELETE: HttpMethod.DELETE,
} as const;

/** The HTTP status of any error the API machinery threw (ours, client-node's watch or ApiException). */
export function statusOf(err: unknown): number {
  if (err instanceof KubeRequestError) return err.statusCode;
  const e = err as { statusCode?: unknown; code?: unknown } | undefined;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  if (typeof e?.code === 'number') return e.code;
  return 0;
}

/** A JSON list answer of the API server. */
export interface KubeList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/**
 * Plain JSON requests with the kubeconfig's credentials. Objects stay wire-shaped (the same shape the
 * informers' watch streams and the manifest folder deliver), unlike client-node's generated clients.
 */
export class KubeRest {
  readonly #kc: KubeConfig;
  readonly #server: string;
  readonly #timeoutMs: number;

  constructor(kc: KubeConfig, timeoutMs = 15_000) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new KubeRequestError('GET', '', 0, 'the kubeconfig has no current cluster');
    this.#kc = kc;
    this.#server = cluster.server.replace(/\/+$/, '');
    this.#timeoutMs = timeoutMs;
  }

  /**
   * One request; throws KubeRequestError (with the HTTP status, 0 for network errors and aborts) unless 2xx.
   * `signal` aborts it early (leader election bounds each renew by its renew deadline).
   */
  async request<T>(
    method: keyof typeof METHODS,
    path: string,
    body?: unknown,
    contentType?: string,
    signal?: AbortSignal,
  ): Promise<T> {
    const url = `${this.#server}${path}`;
    const ctx = new RequestContext(url, METHODS[method]);
    await this.#kc.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
    let res: Awaited<ReturnType<typeof fetch>>;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: ctx.getDispatcher(),
        signal: signal
          ? AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), signal])
          : AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new KubeRequestError(method, path, 0, cause?.code ?? cause?.message ?? (err as Error).message);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new KubeRequestError(method, path, 0, (err as Error).message);
    }
    if (res.status < 200 || res.status >= 300) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {}
      throw new KubeRequestError(method, path, res.status, message);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Every page of a list (limit/continue), with the resourceVersion of the first page. */
  async list<T>(path: string, query: Record<string, string> = {}): Promise<KubeList<T>> {
    const items: T[] = [];
    let resourceVersion: string | undefined;
    let cont: string | undefined;
    do {
      const params = new URLSearchParams({ ...query, limit: '500', ...(cont ? { continue: cont } : {}) });
      const page = await this.request<KubeList<T>>('GET', `${path}?${params}`);
      items.push(...(page.items ?? []));
      resourceVersion ??= page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { metadata: { resourceVersion: resourceVersion ?? '' }, items };
  }
}
