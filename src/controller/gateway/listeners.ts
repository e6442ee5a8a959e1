import { loadCertificate } from '../build/certificates.ts';
import type { BuildContext } from '../build/context.ts';
import { normalizeHost } from '../build/hostname.ts';
import { asArray, isRecord, metadataOf, type ObjectRef, objectRef, str } from '../build/meta.ts';
import type { ClusterView } from '../view.ts';
import { GATEWAY_GROUP, referenceAllowed } from './reference-grant.ts';
import { cond, type GatewayApiStatus, type GatewayCondition } from './status.ts';

/** The controllerName GatewayClasses name to be ours (BuildOptions.gatewayControllerName overrides it). */
export const DEFAULT_CONTROLLER_NAME = 'sticky-ingress.dev/controller';

/** Which namespaces may attach routes to a listener (Gateway `allowedRoutes.namespaces`). */
export type AllowedFrom =
  | { from: 'Same' }
  | { from: 'All' }
  | { from: 'Selector'; labels: Record<string, string>; expressions: readonly unknown[] };

/** A listener of one of our Gateways, as routes attach to it. */
export interface Listener {
  gateway: ObjectRef;
  name: string;
  protocol: 'HTTP' | 'HTTPS';
  port: number;
  /** Normalised hostname, or undefined for "any host". */
  hostname: string | undefined;
  allowed: AllowedFrom;
  /** HTTPS: the certificate id when its first certificateRef resolved. */
  certificate: string | undefined;
  /**
   * Accepted and not conflicted: routes attach and count in `attachedRoutes`, even while a reference does not
   * resolve (Gateway API ListenerStatus.attachedRoutes; conformance GatewayWithAttachedRoutes).
   */
  attachable: boolean;
  /** Attachable and programmed (its certificate resolved): its routes are served. */
  usable: boolean;
  conditions: GatewayCondition[];
  attachedRoutes: number;
  /** Route kinds this listener serves: of `allowedRoutes.kinds`, the ones we serve (HTTPRoute); may be empty. */
  supportedKinds: { group: string; kind: string }[];
}

/** Our Gateways by `namespace/name`, with their listeners; statuses of classes and Gateways are filled later. */
export interface GatewayTable {
  gateways: Map<string, { ref: ObjectRef; listeners: Listener[]; conditions: GatewayCondition[] }>;
  classStatuses: GatewayApiStatus[];
}

/** Processor: our GatewayClasses (Accepted) and the Gateways of those classes, listener by listener. */
export function processGateways(ctx: BuildContext, view: ClusterView): GatewayTable {
  const controller = ctx.options.gatewayControllerName ?? DEFAULT_CONTROLLER_NAME;
  const ours = new Set<string>();
  const classStatuses: GatewayApiStatus[] = [];
  for (const { obj, ref } of ctx.cache.sorted('GatewayClass', view.gatewayClasses)) {
    const spec = isRecord(obj) && isRecord(obj.spec) ? obj.spec : {};
    if (spec.controllerName !== controller || !ref.name) continue;
    ours.add(ref.name);
    const status: GatewayApiStatus = { kind: 'GatewayClass', namespace: '', name: ref.name };
    if (ref.generation !== undefined) status.generation = ref.generation;
    status.conditions = [cond('Accepted', true, 'Accepted', `handled by ${controller}`, ref.generation)];
    classStatuses.push(status);
  }
  const gateways: GatewayTable['gateways'] = new Map();
  for (const { obj, ref, rank } of ctx.cache.sorted('Gateway', view.gateways)) {
    const spec = isRecord(obj) && isRecord(obj.spec) ? obj.spec : {};
    if (!ref.name || typeof spec.gatewayClassName !== 'string' || !ours.has(spec.gatewayClassName)) continue;
    const listeners = asArray<unknown>(spec.listeners).map((l, i) => listenerOf(ctx, view, ref, l, i));
    markConflicts(listeners);
    for (const l of listeners)
      if (l.usable && l.certificate !== undefined)
        ctx.listenerTls.push({
          host: l.hostname ?? '*',
          certificate: l.certificate,
          owner: ref,
          rank,
          field: `listener ${l.name}`,
        });
    const usable = listeners.some((l) => l.usable);
    const message = usable ? 'served by sticky-ingress' : 'no listener can serve';
    // GEP-1364 / conformance GatewayListenerUnsupportedProtocol: Accepted is True while any listener is
    // accepted, with reason ListenersNotValid as soon as one is not; False when none is.
    const accepted = listeners.filter((l) => l.conditions[0]?.status === 'True').length;
    const conditions = [
      cond(
        'Accepted',
        accepted > 0,
        accepted === listeners.length && accepted > 0 ? 'Accepted' : 'ListenersNotValid',
        message,
        ref.generation,
      ),
      cond('Programmed', usable, usable ? 'Programmed' : 'Invalid', message, ref.generation),
    ];
    gateways.set(`${ref.namespace}/${ref.name}`, { ref, listeners, conditions });
  }
  return { gateways, classStatuses };
}

function listenerOf(ctx: BuildContext, view: ClusterView, gw: ObjectRef, raw: unknown, i: number): Listener {
  const l = isRecord(raw) ? raw : {};
  const g = gw.generation;
  const name = str(l.name) ?? `listener-${i}`;
  const protocol = l.protocol === 'HTTPS' ? 'HTTPS' : 'HTTP';
  const hostname = l.hostname === undefined ? undefined : normalizeHost(l.hostname);
  const listener: Listener = {
    gateway: gw,
    name,
    protocol,
    port: typeof l.port === 'number' ? l.port : 0,
    hostname,
    allowed: allowedOf(l.allowedRoutes),
    certificate: undefined,
    attachable: false,
    usable: false,
    conditions: [],
    attachedRoutes: 0,
    supportedKinds: [{ group: GATEWAY_GROUP, kind: 'HTTPRoute' }],
  };
  const field = `spec.listeners[${i}]`;
  const reject = (reason: string, message: string) => {
    ctx.report(gw, { severity: 'Error', reason, message, field });
    // Conformance GatewayListenerUnsupportedProtocol: a listener that is not accepted supports no route kind.
    listener.supportedKinds = [];
    listener.conditions = [
      cond('Accepted', false, reason, message, g),
      cond('ResolvedRefs', true, 'ResolvedRefs', 'no references', g),
      cond('Programmed', false, 'Invalid', message, g),
      cond('Conflicted', false, 'NoConflicts', 'no conflicts', g),
    ];
    return listener;
  };
  if (l.protocol !== 'HTTP' && l.protocol !== 'HTTPS')
    return reject('UnsupportedProtocol', `protocol ${String(l.protocol)} is not served (HTTP and HTTPS are)`);
  if (hostname === undefined || hostname === '*')
    if (l.hostname !== undefined)
      return reject('Invalid', `hostname ${String(l.hostname)} is not a DNS name`);
  const kinds = asArray<unknown>(isRecord(l.allowedRoutes) ? l.allowedRoutes.kinds : undefined);
  let refs = cond('ResolvedRefs', true, 'ResolvedRefs', 'all references resolved', g);
  const served = (k: unknown) =>
    isRecord(k) && k.kind === 'HTTPRoute' && (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP;
  if (kinds.some((k) => !served(k))) {
    refs = cond('ResolvedRefs', false, 'InvalidRouteKinds', 'only HTTPRoute is supported', g);
    // Conformance GatewayInvalidRouteKind: supportedKinds lists only the valid requested kinds, none if none.
    listener.supportedKinds = kinds.some(served) ? listener.supportedKinds : [];
  }
  if (protocol === 'HTTPS') refs = certificateOf(ctx, view, listener, l.tls, field) ?? refs;
  listener.attachable = true;
  listener.usable = refs.status === 'True' || refs.reason === 'InvalidRouteKinds';
  listener.conditions = [
    cond('Accepted', true, 'Accepted', 'listener accepted', g),
    refs,
    cond('Programmed', listener.usable, listener.usable ? 'Programmed' : 'Invalid', refs.message, g),
    cond('Conflicted', false, 'NoConflicts', 'no conflicts', g),
  ];
  return listener;
}

/** Resolves an HTTPS listener's first certificateRef; a false ResolvedRefs condition when it cannot. */
function certificateOf(
  ctx: BuildContext,
  view: ClusterView,
  listener: Listener,
  tls: unknown,
  field: string,
): GatewayCondition | undefined {
  const gw = listener.gateway;
  const t = isRecord(tls) ? tls : {};
  const fail = (reason: string, message: string) => {
    ctx.report(gw, { severity: 'Error', reason, message, field: `${field}.tls` }, 'ref');
    return cond('ResolvedRefs', false, reason, message, gw.generation);
  };
  if (t.mode !== undefined && t.mode !== 'Terminate')
    return fail('UnsupportedValue', 'only tls.mode Terminate is served');
  const ref = asArray<unknown>(t.certificateRefs)[0];
  if (!isRecord(ref) || !str(ref.name))
    return fail('InvalidCertificateRef', 'an HTTPS listener needs a certificateRef');
  if ((ref.group ?? '') !== '' || (ref.kind ?? 'Secret') !== 'Secret')
    return fail('InvalidCertificateRef', `certificateRef kind ${String(ref.kind)} is not a core Secret`);
  const namespace = str(ref.namespace) ?? gw.namespace;
  const name = ref.name as string;
  const from = { group: GATEWAY_GROUP, kind: 'Gateway', namespace: gw.namespace };
  if (!referenceAllowed(view.referenceGrants, from, { group: '', kind: 'Secret', namespace, name }))
    return fail(
      'RefNotPermitted',
      `no ReferenceGrant in ${namespace} allows Gateway ${gw.namespace}/${gw.name} to use Secret ${name}`,
    );
  const result = loadCertificate(ctx, namespace, name);
  if ('problem' in result) return fail('InvalidCertificateRef', result.problem.message);
  listener.certificate = result.id;
  return undefined;
}

function allowedOf(raw: unknown): AllowedFrom {
  const ns = isRecord(raw) && isRecord(raw.namespaces) ? raw.namespaces : {};
  if (ns.from === 'All') return { from: 'All' };
  if (ns.from === 'Selector') {
    const sel = isRecord(ns.selector) ? ns.selector : {};
    const labels = isRecord(sel.matchLabels) ? (sel.matchLabels as Record<string, string>) : {};
    return { from: 'Selector', labels, expressions: asArray<unknown>(sel.matchExpressions) };
  }
  return { from: 'Same' };
}

/** True when a route in `namespace` may attach to `listener` (namespace labels from the view). */
export function namespaceAllowed(view: ClusterView, listener: Listener, namespace: string): boolean {
  const a = listener.allowed;
  if (a.from === 'All') return true;
  if (a.from === 'Same') return namespace === listener.gateway.namespace;
  const ns = asArray<unknown>(view.namespaces).find((n) => metadataOf(n).name === namespace);
  const labels = isRecord(metadataOf(ns).labels) ? (metadataOf(ns).labels as Record<string, unknown>) : {};
  if (ns === undefined) return false;
  for (const [k, v] of Object.entries(a.labels)) if (labels[k] !== v) return false;
  return a.expressions.every((e) => {
    if (!isRecord(e) || typeof e.key !== 'string') return false;
    const values = asArray<unknown>(e.values);
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === 'In') return has && values.includes(labels[e.key]);
    if (e.operator === 'NotIn') return !has || !values.includes(labels[e.key]);
    if (e.operator === 'Exists') return has;
    if (e.operator === 'DoesNotExist') return !has;
    return false;
  });
}

// Two usable listeners on one port with one hostname conflict (HostnameConflict); different protocols on one
// port conflict too (ProtocolConflict). Gateway API: conflicted listeners are not programmed.
function markConflicts(listeners: Listener[]): void {
  for (const l of listeners) {
    if (!l.usable) continue;
    const others = listeners.filter((o) => o !== l && o.usable && o.port === l.port);
    const protocol = others.some((o) => o.protocol !== l.protocol);
    const hostname = others.some((o) => o.protocol === l.protocol && o.hostname === l.hostname);
    if (!protocol && !hostname) continue;
    const reason = protocol ? 'ProtocolConflict' : 'HostnameConflict';
    const g = l.gateway.generation;
    const message = `another listener on port ${l.port} conflicts (${reason})`;
    l.conditions = l.conditions.map((c) =>
      c.type === 'Conflicted'
        ? cond('Conflicted', true, reason, message, g)
        : c.type === 'Programmed'
          ? cond('Programmed', false, 'Invalid', message, g)
          : c,
    );
  }
  for (const l of listeners)
    if (l.conditions.some((c) => c.type === 'Conflicted' && c.status === 'True')) {
      l.usable = false;
      l.attachable = false;
    }
}

/** GatewayClass objects are cluster-scoped: their ref has namespace ''. */
export function classRef(obj: unknown): ObjectRef {
  return { ...objectRef('GatewayClass', obj), namespace: '' };
}
