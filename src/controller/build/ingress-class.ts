import type { ClusterView } from '../view.ts';
import type { BuildContext } from './context.ts';
import { annotationsOf, asArray, isRecord, metadataOf, str } from './meta.ts';

/**
 * "Is this Ingress ours, and what does it reference?", written once. The builder decides what to serve with
 * it and the cluster store decides whether a change needs a rebuild with it: if the two ever disagreed, the
 * store would drop updates the builder needs (issue 12 item 3).
 */

/** `spec.controller` of the IngressClasses this controller serves. */
const CONTROLLER_NAME = 'sticky-ingress.dev/controller';
const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

/** The IngressClass names this controller answers to, and whether one of them is the cluster default. */
export interface OwnClasses {
  names: Set<string>;
  ownsDefault: boolean;
}

/**
 * Every class whose spec.controller is ours, plus `ingressClass` (the flag) when no IngressClass of that name
 * exists (standalone mode has none); a class of that name that belongs to another controller stays theirs.
 */
export function ownClasses(classes: Iterable<unknown>, ingressClass: string): OwnClasses {
  const named = new Set<string>();
  const own: OwnClasses = { names: new Set(), ownsDefault: false };
  for (const cls of classes) {
    const name = str(metadataOf(cls).name);
    if (!name) continue;
    named.add(name);
    const spec = isRecord(cls) && isRecord(cls.spec) ? cls.spec : {};
    if (spec.controller !== CONTROLLER_NAME) continue;
    own.names.add(name);
    if (annotationsOf(cls)[DEFAULT_CLASS_ANNOTATION] === 'true') own.ownsDefault = true;
  }
  if (!named.has(ingressClass)) own.names.add(ingressClass);
  return own;
}

/**
 * Whether an Ingress is ours: spec.ingressClassName decides when set; else the deprecated
 * `kubernetes.io/ingress.class` annotation (compared with the flag); else the default IngressClass, if ours.
 */
export function ownsIngress(own: OwnClasses, ingressClass: string, ingress: unknown): boolean {
  const spec = isRecord(ingress) && isRecord(ingress.spec) ? ingress.spec : {};
  const className = str(spec.ingressClassName);
  if (className) return own.names.has(className);
  const legacy = annotationsOf(ingress)[LEGACY_CLASS_ANNOTATION];
  if (typeof legacy === 'string' && legacy !== '') return legacy === ingressClass;
  return own.ownsDefault;
}

/** `namespace/name` of every Service and TLS Secret an Ingress or StickyRoute names (same namespace only). */
export function referencesOf(
  kind: 'Ingress' | 'StickyRoute',
  obj: unknown,
): { services: string[]; secrets: string[] } {
  const ns = str(metadataOf(obj).namespace) ?? 'default';
  const spec = isRecord(obj) && isRecord(obj.spec) ? obj.spec : {};
  const rec = (v: unknown) => (isRecord(v) ? v : {});
  const services: string[] = [];
  const secrets: string[] = [];
  const add = (list: string[], name: unknown) => {
    if (typeof name === 'string' && name !== '') list.push(`${ns}/${name}`);
  };
  if (kind === 'Ingress') {
    add(services, rec(rec(spec.defaultBackend).service).name);
    for (const rule of asArray<unknown>(spec.rules)) {
      for (const path of asArray<unknown>(rec(rec(rule).http).paths)) {
        add(services, rec(rec(rec(path).backend).service).name);
      }
    }
    for (const tls of asArray<unknown>(spec.tls)) add(secrets, rec(tls).secretName);
  } else {
    for (const r of asArray<unknown>(spec.routes)) add(services, rec(rec(rec(r).backend).service).name);
    add(secrets, rec(spec.tls).secretName);
  }
  return { services, secrets };
}

/** Processor 1: which IngressClass names are ours, for `isOwnIngress`. */
export function processIngressClasses(ctx: BuildContext, view: ClusterView): void {
  const own = ownClasses(asArray<unknown>(view.ingressClasses), ctx.options.ingressClass);
  for (const name of own.names) ctx.ownClasses.add(name);
  if (own.ownsDefault) ctx.ownsDefaultClass = true;
}

/** Whether an Ingress is ours in this build (see `ownsIngress`). */
export function isOwnIngress(ctx: BuildContext, ingress: unknown): boolean {
  return ownsIngress(
    { names: ctx.ownClasses, ownsDefault: ctx.ownsDefaultClass },
    ctx.options.ingressClass,
    ingress,
  );
}
