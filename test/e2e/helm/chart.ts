import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadAllYaml } from '@kubernetes/client-node';
import type { KubeClient, KubeObject } from '../framework/kube.ts';

const run = promisify(execFile);

/** The chart under test, relative to the repository root (the e2e suites run from there). */
export const CHART = 'deploy/helm/sticky-ingress';
/** The version of the kube-apiserver the tools build; Helm's built-in default is older than the cluster. */
export const KUBE_VERSION = 'v1.36.3';

/** Every `ci/*-values.yaml` of the chart, by file name. */
export function ciValuesFiles(): string[] {
  return readdirSync(join(CHART, 'ci'))
    .filter((f) => f.endsWith('-values.yaml'))
    .sort();
}

/** One rendered object: parsed (for routing and assertions) and its exact YAML text (what is sent). */
export interface Rendered {
  object: KubeObject;
  yaml: string;
}

/**
 * `helm template` (CRDs included), split into documents; rejects with Helm's stderr. The YAML text is kept
 * because client-node's typed models drop unknown fields, which would hide a typo from strict validation.
 */
export async function renderChart(
  tools: string,
  release: string,
  namespace: string,
  args: string[] = [],
): Promise<Rendered[]> {
  const { stdout } = await run(
    join(tools, 'helm'),
    [
      'template',
      release,
      CHART,
      '--namespace',
      namespace,
      '--kube-version',
      KUBE_VERSION,
      '--include-crds',
      ...args,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const out: Rendered[] = [];
  for (const yaml of stdout.split(/^---\s*$/m)) {
    const [object] = loadAllYaml(yaml) as (KubeObject | null | undefined)[];
    if (object) out.push({ object, yaml });
  }
  return out;
}

/** Where a kind lives in the API, from the server's own discovery documents. */
interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

/** Looks up kinds through API discovery, so any kind the chart renders is sent to its real endpoint. */
export class Discovery {
  readonly #client: KubeClient;
  readonly #groups = new Map<string, Map<string, ResourceInfo>>();

  constructor(client: KubeClient) {
    this.#client = client;
  }

  /** The resource of `kind` in `apiVersion`; throws when the server does not serve it. */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let kinds = this.#groups.get(apiVersion);
    if (!kinds) {
      const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const doc = await this.#client.request<{
        resources: { name: string; kind: string; namespaced: boolean }[];
      }>('GET', base);
      kinds = new Map();
      for (const r of doc.resources) {
        if (!r.name.includes('/')) kinds.set(r.kind, { plural: r.name, namespaced: r.namespaced });
      }
      this.#groups.set(apiVersion, kinds);
    }
    const info = kinds.get(kind);
    if (!info) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
    return info;
  }

  /** The collection path an object is created in. */
  async collectionPath(obj: KubeObject): Promise<string> {
    const info = await this.resource(obj.apiVersion, obj.kind);
    const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
    if (!info.namespaced) return `${base}/${info.plural}`;
    if (!obj.metadata.namespace) throw new Error(`${obj.kind} ${obj.metadata.name} has no namespace`);
    return `${base}/namespaces/${obj.metadata.namespace}/${info.plural}`;
  }

  /** Drops cached discovery for a group (after a CRD was installed). */
  forget(apiVersion: string): void {
    this.#groups.delete(apiVersion);
  }
}

/**
 * Creates the object with a server-side dry run: authentication, admission, defaulting and schema validation
 * with unknown fields rejected (fieldValidation=Strict), nothing stored.
 */
export async function dryRunCreate(
  client: KubeClient,
  discovery: Discovery,
  item: Rendered,
): Promise<KubeObject> {
  const path = await discovery.collectionPath(item.object);
  return client.request('POST', `${path}?dryRun=All&fieldValidation=Strict`, item.yaml, 'application/yaml');
}

/** `Kind namespace/name`, for messages. */
export function describeObject(obj: KubeObject): string {
  return `${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
}

/** A policy rule of a Role or ClusterRole. */
export interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** Every rule of every Role/ClusterRole among the objects, with the role it came from. */
export function rbacRules(objects: KubeObject[]): { role: string; rule: Rule }[] {
  return objects
    .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
    .flatMap((o) =>
      ((o.rules as Rule[] | undefined) ?? []).map((rule) => ({ role: describeObject(o), rule })),
    );
}
