import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import type { KubeClient, KubeObject } from './kube.ts';
import { waitFor } from './wait.ts';

/** The Gateway API release test/conformance/go.mod pins; its CRDs are the ones the controller is tested on. */
export const GATEWAY_API_MODULE = 'sigs.k8s.io/gateway-api@v1.7.0';
const KINDS = ['gatewayclasses', 'gateways', 'httproutes', 'referencegrants'];

/**
 * A reader of the module's files: its extracted folder, else its downloaded zip. The module's go.mod asks for
 * a newer Go than some machines have, so `go mod download` may download the zip yet fail to extract it.
 */
function crdFiles(): (path: string) => string {
  let out: string;
  try {
    out = execFileSync('go', ['mod', 'download', '-json', GATEWAY_API_MODULE], { encoding: 'utf8' });
  } catch (err) {
    out = String((err as { stdout?: unknown }).stdout ?? '');
  }
  const info = JSON.parse(out) as { Dir?: string; Zip?: string; Error?: string };
  if (info.Dir !== undefined) return (path) => readFileSync(join(info.Dir as string, path), 'utf8');
  if (info.Zip === undefined) throw new Error(`go mod download ${GATEWAY_API_MODULE}: ${info.Error}`);
  return (path) =>
    execFileSync('unzip', ['-p', info.Zip as string, `${GATEWAY_API_MODULE}/${path}`], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
}

/**
 * Installs the standard-channel CRDs of GatewayClass, Gateway, HTTPRoute and ReferenceGrant from the pinned
 * Go module (`go mod download`: the module cache, else the Go module proxy) and waits until they are served.
 */
export async function installGatewayCrds(admin: KubeClient): Promise<void> {
  const text = crdFiles();
  for (const plural of KINDS) {
    const file = `config/crd/standard/gateway.networking.k8s.io_${plural}.yaml`;
    const crd = (loadAllYaml(text(file)) as KubeObject[]).find((o) => o?.kind === 'CustomResourceDefinition');
    if (!crd) throw new Error(`no CustomResourceDefinition in ${file}`);
    await admin.applyParsed(crd);
  }
  for (const [version, kind] of [
    ['v1', 'GatewayClass'],
    ['v1', 'Gateway'],
    ['v1', 'HTTPRoute'],
    ['v1beta1', 'ReferenceGrant'],
  ] as const) {
    const ns = kind === 'GatewayClass' ? undefined : 'default';
    await waitFor(() => admin.list(`gateway.networking.k8s.io/${version}`, kind, ns).then(() => true), {
      description: `${kind} served`,
    });
  }
}
