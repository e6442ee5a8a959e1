import { isIP } from 'node:net';
import type { Endpoint } from '../../snapshot/types.ts';
import type { BuildContext } from './context.ts';
import { nonPodAddress } from './endpoint-address.ts';
import { EndpointParts, type SlicePart } from './endpoint-parts.ts';
import { asArray, compareStrings, isRecord, metadataOf, str } from './meta.ts';
import type { ViewIndex } from './view-index.ts';

/** A Service port as a route names it: its number (`spec.ports[].port`) or its name. */
export type PortRef = { number: number } | { name: string };

/** Why a backend has no endpoints to offer, as a diagnostic reason and message. */
export interface BackendProblem {
  reason: 'ServiceNotFound' | 'ServicePortNotFound' | 'UnsupportedServiceType';
  message: string;
}

/** How endpoint addresses are screened, and where a refused one is reported (with the slice's namespace/name). */
export interface EndpointScreen {
  /** Standalone mode: manifests name local backends, so loopback addresses are allowed. */
  allowLoopback: boolean;
  refuse(slice: { namespace: string; name: string }, message: string): void;
  /** Per-slice parts kept across builds (BuildCache); without one, every slice is read again. */
  cache?: EndpointParts;
}

/**
 * The endpoints behind `namespace/service:port`: the Service port is found by number or name, then every
 * EndpointSlice of the Service contributes the entry of its `ports` named like that Service port
 * (that entry carries the resolved target port, which may differ per slice when targetPort is a name).
 */
export function resolveEndpoints(
  index: ViewIndex,
  namespace: string,
  service: string,
  port: PortRef,
  screen: EndpointScreen,
): { endpoints: readonly Endpoint[]; problem?: BackendProblem } {
  const svc = index.service(namespace, service);
  if (!svc) {
    return {
      endpoints: [],
      problem: { reason: 'ServiceNotFound', message: `Service ${namespace}/${service} not found` },
    };
  }
  const spec = isRecord(svc.spec) ? svc.spec : {};
  if (spec.type === 'ExternalName') {
    const message = `Service ${namespace}/${service} is of type ExternalName, which sticky-ingress does not proxy to`;
    return { endpoints: [], problem: { reason: 'UnsupportedServiceType', message } };
  }
  const ports = asArray<unknown>(spec.ports).filter(isRecord);
  const match = ports.find((p) => ('number' in port ? p.port === port.number : p.name === port.name));
  if (!match) {
    const wanted = 'number' in port ? String(port.number) : `"${port.name}"`;
    const have =
      ports.map((p) => (str(p.name) ? `${p.name}/${p.port}` : String(p.port))).join(', ') || 'none';
    const message = `Service ${namespace}/${service} has no port ${wanted} (ports: ${have})`;
    return { endpoints: [], problem: { reason: 'ServicePortNotFound', message } };
  }
  const slices = index.slices(namespace, service);
  return { endpoints: collect(slices, str(match.name) ?? '', namespace, screen) };
}

function collect(
  slices: readonly Record<string, unknown>[],
  portName: string,
  namespace: string,
  screen: EndpointScreen,
): readonly Endpoint[] {
  const key = `${portName}\u0000${namespace}\u0000${screen.allowLoopback}`;
  const cache = screen.cache ?? new EndpointParts();
  const parts = slices.map((slice) =>
    cache.part(slice, key, () => readSlice(slice, portName, namespace, screen)),
  );
  // A refused address is a diagnostic of every build, cached part or not.
  for (let i = 0; i < parts.length; i++) {
    const refused = (parts[i] as SlicePart).refused;
    if (refused.length === 0) continue;
    const sliceRef = { namespace, name: str(metadataOf(slices[i]).name) ?? '' };
    for (const message of refused) screen.refuse(sliceRef, message);
  }
  return cache.merged(slices, key, parts, better);
}

/** One slice's endpoints for the Service port named `portName`, deduplicated by id and sorted by id. */
function readSlice(
  slice: Record<string, unknown>,
  portName: string,
  namespace: string,
  screen: EndpointScreen,
): SlicePart {
  const none: SlicePart = { endpoints: [], refused: [] };
  if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return none; // FQDN slices: not proxied
  const entry = asArray<unknown>(slice.ports)
    .filter(isRecord)
    .find((p) => (str(p.name) ?? '') === portName && (p.protocol ?? 'TCP') === 'TCP');
  const port = entry?.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return none;
  const byId = new Map<string, Endpoint>();
  const refused: string[] = [];
  for (const raw of asArray<unknown>(slice.endpoints)) {
    const endpoint = toEndpoint(raw, port, namespace);
    if (!endpoint) continue;
    const why = nonPodAddress(endpoint.address, screen.allowLoopback);
    if (why !== undefined) {
      refused.push(
        `endpoint address ${endpoint.address} is ${why}, which no Pod can have; not proxied to (CVE-2021-25740 class)`,
      );
      continue;
    }
    const seen = byId.get(endpoint.id);
    if (!seen || better(endpoint, seen)) byId.set(endpoint.id, endpoint);
  }
  return { endpoints: [...byId.values()].sort((a, b) => compareStrings(a.id, b.id)), refused };
}

// Conditions per the discovery/v1 API docs: ready nil => true, serving nil => ready, terminating nil => false.
function toEndpoint(raw: unknown, port: number, namespace: string): Endpoint | undefined {
  if (!isRecord(raw)) return undefined;
  // "Consumers must use the first address" (EndpointSlice API: the others are fungible).
  const address = str(asArray<unknown>(raw.addresses)[0]);
  if (!address || isIP(address) === 0) return undefined;
  const c = isRecord(raw.conditions) ? raw.conditions : {};
  const ready = typeof c.ready === 'boolean' ? c.ready : true;
  const serving = typeof c.serving === 'boolean' ? c.serving : ready;
  const terminating = typeof c.terminating === 'boolean' ? c.terminating : false;
  return {
    id: endpointId(raw.targetRef, namespace, address, port),
    address,
    port,
    weight: 1,
    ready,
    serving,
    terminating,
  };
}

/**
 * The endpoint's identity, which the dataplane keys pools, health, counts and affinity on: always inside the
 * slice's own namespace, so no tenant can name (and so share or take over) another namespace's endpoint state.
 * A Pod targetRef in the same namespace gives `ns/pod:port` (stable while the pod lives, whatever its address);
 * anything else, a targetRef to another namespace included, gives `ns/[address]:port` (brackets cannot occur
 * in a Pod name, so the two forms never collide).
 */
function endpointId(targetRef: unknown, namespace: string, address: string, port: number): string {
  const ref = isRecord(targetRef) ? targetRef : undefined;
  const podName = ref?.kind === 'Pod' ? str(ref.name) : undefined;
  const refNs = str(ref?.namespace) ?? namespace;
  if (podName && refNs === namespace) return `${namespace}/${podName}:${port}`;
  return `${namespace}/[${address}]:${port}`;
}

// A dual-stack Pod appears in an IPv4 and an IPv6 slice under one id: keep the healthier, then the lower address.
function better(a: Endpoint, b: Endpoint): boolean {
  const score = (e: Endpoint) => (e.ready ? 4 : 0) + (e.serving ? 2 : 0) + (e.terminating ? 0 : 1);
  return score(a) !== score(b) ? score(a) > score(b) : a.address < b.address;
}

/** The screen of one build: loopback per `BuildOptions.allowLoopbackEndpoints`; refusals are Warnings on the slice. */
export function endpointScreen(ctx: BuildContext): EndpointScreen {
  return {
    allowLoopback: ctx.options.allowLoopbackEndpoints === true,
    cache: ctx.cache.endpoints,
    refuse: (slice, message) =>
      ctx.report(
        { kind: 'EndpointSlice', ...slice },
        { severity: 'Warning', reason: 'EndpointAddressRefused', message, field: 'endpoints' },
      ),
  };
}
