import { asArray, isRecord, metadataOf, str } from '../build/meta.ts';

/**
 * The Services (`ns/name`) HTTPRoutes name in backendRefs and the Secrets Gateways name in certificateRefs,
 * so the store rebuilds when one of them changes (and only then). Over-approximates: every HTTPRoute and
 * Gateway counts, whichever class it belongs to; a spurious rebuild is cheap, a missed one is a stale route.
 */
export function gatewayReferences(
  gateways: Iterable<unknown>,
  routes: Iterable<unknown>,
): { services: string[]; secrets: string[] } {
  const services: string[] = [];
  const secrets: string[] = [];
  for (const route of routes) {
    const ns = str(metadataOf(route).namespace) ?? 'default';
    const spec = isRecord(route) && isRecord(route.spec) ? route.spec : {};
    for (const rule of asArray<unknown>(spec.rules)) {
      if (!isRecord(rule)) continue;
      for (const ref of asArray<unknown>(rule.backendRefs)) {
        if (isRecord(ref) && str(ref.name))
          services.push(`${str(ref.namespace) ?? ns}/${ref.name as string}`);
      }
    }
  }
  for (const gw of gateways) {
    const ns = str(metadataOf(gw).namespace) ?? 'default';
    const spec = isRecord(gw) && isRecord(gw.spec) ? gw.spec : {};
    for (const l of asArray<unknown>(spec.listeners)) {
      const tls = isRecord(l) && isRecord(l.tls) ? l.tls : {};
      for (const ref of asArray<unknown>(tls.certificateRefs)) {
        if (isRecord(ref) && str(ref.name)) secrets.push(`${str(ref.namespace) ?? ns}/${ref.name as string}`);
      }
    }
  }
  return { services, secrets };
}
