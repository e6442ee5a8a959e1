import type { ClusterView } from '../view.ts';
import type { BuildContext } from './context.ts';
import { annotationsOf, asArray, isRecord, metadataOf, str } from './meta.ts';

/** `spec.controller` of the IngressClasses this controller serves. */
export const CONTROLLER_NAME = 'sticky-ingress.dev/controller';
const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

/**
 * Processor 1: which IngressClass names are ours. Every class whose spec.controller is ours, plus
 * `options.ingressClass` when no IngressClass of that name exists (standalone mode has none); a class of
 * that name that belongs to another controller stays theirs.
 */
export function processIngressClasses(ctx: BuildContext, view: ClusterView): void {
  const named = new Set<string>();
  for (const cls of asArray<unknown>(view.ingressClasses)) {
    const name = str(metadataOf(cls).name);
    if (!name) continue;
    named.add(name);
    const spec = isRecord(cls) && isRecord(cls.spec) ? cls.spec : {};
    if (spec.controller !== CONTROLLER_NAME) continue;
    ctx.ownClasses.add(name);
    if (annotationsOf(cls)[DEFAULT_CLASS_ANNOTATION] === 'true') ctx.ownsDefaultClass = true;
  }
  if (!named.has(ctx.options.ingressClass)) ctx.ownClasses.add(ctx.options.ingressClass);
}

/**
 * Whether an Ingress is ours: spec.ingressClassName decides when set; else the deprecated
 * `kubernetes.io/ingress.class` annotation; else the default IngressClass, if it is one of ours.
 */
export function isOwnIngress(ctx: BuildContext, ingress: unknown): boolean {
  const spec = isRecord(ingress) && isRecord(ingress.spec) ? ingress.spec : {};
  const className = str(spec.ingressClassName);
  if (className) return ctx.ownClasses.has(className);
  const legacy = annotationsOf(ingress)[LEGACY_CLASS_ANNOTATION];
  if (typeof legacy === 'string' && legacy !== '') return legacy === ctx.options.ingressClass;
  return ctx.ownsDefaultClass;
}
