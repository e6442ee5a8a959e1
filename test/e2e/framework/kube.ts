import { dumpYaml } from '@kubernetes/client-node';
import { Agent, request } from 'undici';

/** A Kubernetes object as plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    generation?: number;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** A non-2xx answer of the API server. */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly code = 'E2E_KUBE_API';
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

const KINDS: Record<string, { plural: string; namespaced: boolean }> = {
  Namespace: { plural: 'namespaces', namespaced: false },
  ServiceAccount: { plural: 'serviceaccounts', namespaced: true },
  Service: { plural: 'services', namespaced: true },
  Pod: { plural: 'pods', namespaced: true },
  Secret: { plural: 'secrets', namespaced: true },
  ConfigMap: { plural: 'configmaps', namespaced: true },
  Event: { plural: 'events', namespaced: true },
  EndpointSlice: { plural: 'endpointslices', namespaced: true },
  Ingress: { plural: 'ingresses', namespaced: true },
  IngressClass: { plural: 'ingressclasses', namespaced: false },
  ClusterRole: { plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { plural: 'clusterrolebindings', namespaced: false },
  Role: { plural: 'roles', namespaced: true },
  RoleBinding: { plural: 'rolebindings', namespaced: true },
  CustomResourceDefinition: { plural: 'customresourcedefinitions', namespaced: false },
  Lease: { plural: 'leases', namespaced: true },
  StickyRoute: { plural: 'stickyroutes', namespaced: true },
  GatewayClass: { plural: 'gatewayclasses', namespaced: false },
  Gateway: { plural: 'gateways', namespaced: true },
  HTTPRoute: { plural: 'httproutes', namespaced: true },
  ReferenceGrant: { plural: 'referencegrants', namespaced: true },
};

/** The REST path of a collection (`name` absent) or an object. */
export function resourcePath(apiVersion: string, kind: string, namespace?: string, name?: string): string {
  const info = KINDS[kind];
  if (!info) throw new Error(`e2e framework: unknown kind ${kind}`);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = info.namespaced ? `/namespaces/${namespace ?? 'default'}` : '';
  return `${base}${ns}/${info.plural}${name ? `/${name}` : ''}`;
}

/** A small JSON client for the test's own requests (admin or any bearer token). */
export class KubeClient {
  readonly #server: string;
  readonly #token: string;
  readonly #agent: Agent;

  /** `token` may be '' when `clientCert` (a kubeconfig's client certificate and key, PEM) authenticates. */
  constructor(server: string, token: string, caPem: string, clientCert?: { cert: string; key: string }) {
    this.#server = server;
    this.#token = token;
    this.#agent = new Agent({ connect: { ca: caPem, ...clientCert }, pipelining: 0 });
  }

  /** One request; JSON in and out; throws KubeApiError on non-2xx. */
  async request<T = KubeObject>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<T> {
    const res = await request(`${this.#server}${path}`, {
      method: method as 'GET',
      headers: {
        ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': contentType ?? 'application/json' }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      dispatcher: this.#agent,
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) {
      throw new KubeApiError(res.statusCode, `${method} ${path}: ${res.statusCode} ${text.slice(0, 500)}`);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Server-side apply (create or update) as field manager `e2e`, forcing conflicts. */
  async apply<T extends KubeObject>(obj: T): Promise<T> {
    const path = resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
    return this.request<T>(
      'PATCH',
      `${path}?fieldManager=e2e&force=true`,
      obj,
      'application/apply-patch+yaml',
    );
  }

  /** Applies an object parsed by client-node's `loadAllYaml` (typed models, serialized back to wire names). */
  async applyParsed<T extends KubeObject>(obj: T): Promise<T> {
    const path = resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
    return this.request<T>(
      'PATCH',
      `${path}?fieldManager=e2e&force=true`,
      dumpYaml(obj),
      'application/apply-patch+yaml',
    );
  }

  /** Replaces the status subresource (as a controller would). */
  async applyStatus<T extends KubeObject>(obj: T): Promise<T> {
    const path = resourcePath(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
    return this.request<T>(
      'PATCH',
      `${path}/status?fieldManager=e2e&force=true`,
      obj,
      'application/apply-patch+yaml',
    );
  }

  async get<T = KubeObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string) {
    return this.request<T>('GET', resourcePath(apiVersion, kind, namespace, name));
  }

  /** The object, or undefined on 404. */
  async find<T = KubeObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string) {
    try {
      return await this.get<T>(apiVersion, kind, namespace, name);
    } catch (err) {
      if (err instanceof KubeApiError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async list<T = KubeObject>(apiVersion: string, kind: string, namespace?: string, query = ''): Promise<T[]> {
    const out = await this.request<{ items: T[] }>(
      'GET',
      `${resourcePath(apiVersion, kind, namespace)}${query ? `?${query}` : ''}`,
    );
    return out.items;
  }

  /** Deletes; a 404 is fine. */
  async delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<void> {
    try {
      await this.request('DELETE', resourcePath(apiVersion, kind, namespace, name));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
