import { z } from 'zod';
import type { StickyRoute } from './stickyroute/types.ts';
import type { Diagnostic } from './view.ts';

/**
 * The store's edge (Contour's typed cache): every object the informers or a manifest folder deliver is decoded
 * here, once, so `ClusterView` holds what its types say. The envelope (identity, labels, annotations, the
 * timestamp the conflict rule reads, a Secret's type and data) is checked strictly; `spec` stays input the
 * builder's processors validate field by field, reporting each bad field rather than dropping the object.
 */

// YAML 1.1 readers (client-node's loadAllYaml) turn an unquoted timestamp into a Date; the API sends RFC 3339.
const timestamp = z.union([z.string(), z.date().transform((d) => d.toISOString())]);
const stringMap = z.record(z.string(), z.string());
// Labels and annotations: the API server only stores strings; a manifest's unquoted `timeout: 30` has always been
// ignored (not an error), so non-string values are dropped here rather than failing the whole object.
const stringValues = z
  .record(z.string(), z.unknown())
  .transform(
    (m) =>
      Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === 'string')) as Record<
        string,
        string
      >,
  );

/** The metadata fields sticky-ingress reads, all checked; others are kept as they came. */
const objectMetaSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().min(1).optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: timestamp.optional(),
  labels: stringValues.optional(),
  annotations: stringValues.optional(),
});

/** Decoded metadata: name is a non-empty string, creationTimestamp an RFC 3339 string, maps map strings. */
export type ObjectMeta = z.infer<typeof objectMetaSchema>;

const envelope = {
  apiVersion: z.string().optional(),
  metadata: objectMetaSchema,
  // An object, not a record: client-node's YAML reader yields class instances (V1ServiceSpec), not plain objects.
  spec: z.looseObject({}).optional(),
};

const ingressSchema = z.looseObject({ ...envelope, kind: z.literal('Ingress').optional() });
const ingressClassSchema = z.looseObject({ ...envelope, kind: z.literal('IngressClass').optional() });
const serviceSchema = z.looseObject({ ...envelope, kind: z.literal('Service').optional() });
const endpointSliceSchema = z.looseObject({
  ...envelope,
  kind: z.literal('EndpointSlice').optional(),
  endpoints: z.array(z.unknown()).nullish(),
  ports: z.array(z.unknown()).nullish(),
});
const secretSchema = z.looseObject({
  ...envelope,
  kind: z.literal('Secret').optional(),
  type: z.string().optional(),
  data: stringMap.optional(),
});
const stickyRouteSchema = z.looseObject({
  ...envelope,
  // List responses may omit an item's apiVersion and kind; the informer knows what it watches.
  apiVersion: z.literal('sticky-ingress.dev/v1alpha1').default('sticky-ingress.dev/v1alpha1'),
  kind: z.literal('StickyRoute').default('StickyRoute'),
  spec: z.unknown(),
});

// Gateway API kinds: v1 (ReferenceGrant also v1beta1); list responses may omit apiVersion and kind.
const gatewayApiSchema = z.looseObject({ ...envelope, kind: z.string().optional() });
// Only metadata.labels is read (allowedRoutes.namespaces.from: Selector); a Namespace has no namespace.
const namespaceSchema = z.looseObject({ ...envelope, kind: z.literal('Namespace').optional() });

/** An Ingress (networking.k8s.io/v1) with a decoded envelope; `spec` is checked by the builder. */
export type Ingress = z.infer<typeof ingressSchema>;
/** An IngressClass (networking.k8s.io/v1) with a decoded envelope. */
export type IngressClass = z.infer<typeof ingressClassSchema>;
/** A Service (v1) with a decoded envelope. */
export type Service = z.infer<typeof serviceSchema>;
/** An EndpointSlice (discovery.k8s.io/v1) with a decoded envelope; endpoints and ports are lists. */
export type EndpointSlice = z.infer<typeof endpointSliceSchema>;
/** A Secret (v1) with a decoded envelope; `data` maps keys to base64 strings. */
export type Secret = z.infer<typeof secretSchema>;

/** A Gateway API object (GatewayClass, Gateway, HTTPRoute, ReferenceGrant) with a decoded envelope. */
export type GatewayApiObject = z.infer<typeof gatewayApiSchema>;
/** A Namespace (v1) with a decoded envelope: its labels. */
export type Namespace = z.infer<typeof namespaceSchema>;

const SCHEMAS = {
  Ingress: ingressSchema,
  IngressClass: ingressClassSchema,
  Service: serviceSchema,
  EndpointSlice: endpointSliceSchema,
  Secret: secretSchema,
  StickyRoute: stickyRouteSchema,
  GatewayClass: gatewayApiSchema,
  Gateway: gatewayApiSchema,
  HTTPRoute: gatewayApiSchema,
  ReferenceGrant: gatewayApiSchema,
  Namespace: namespaceSchema,
} as const;

/** The kinds `build` reads, and the decoded type of each. */
export interface DecodedKinds {
  Ingress: Ingress;
  IngressClass: IngressClass;
  Service: Service;
  EndpointSlice: EndpointSlice;
  Secret: Secret;
  StickyRoute: StickyRoute;
  GatewayClass: GatewayApiObject;
  Gateway: GatewayApiObject;
  HTTPRoute: GatewayApiObject;
  ReferenceGrant: GatewayApiObject;
  Namespace: Namespace;
}

/** Result of decoding one object: the typed object, or a diagnostic naming its namespace/name. */
export type Decoded<K extends keyof DecodedKinds> =
  | { ok: true; object: DecodedKinds[K] }
  | { ok: false; diagnostic: Diagnostic };

/**
 * Decodes one object of `kind`. Never throws: an object that does not decode becomes an Error diagnostic
 * (reason `InvalidObject`, the first few issues with their paths) naming namespace/name as far as they are known.
 */
export function decodeObject<K extends keyof DecodedKinds>(kind: K, raw: unknown): Decoded<K> {
  const parsed = SCHEMAS[kind].safeParse(raw);
  if (parsed.success) return { ok: true, object: parsed.data as DecodedKinds[K] };
  const m = (raw as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  const issues = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(object)'}: ${i.message}`)
    .join('; ');
  return {
    ok: false,
    diagnostic: {
      severity: 'Error',
      object: {
        kind,
        namespace: typeof m?.namespace === 'string' ? m.namespace : 'default',
        name: typeof m?.name === 'string' ? m.name : '',
      },
      reason: 'InvalidObject',
      message: `not a valid ${kind}, ignored: ${issues}`,
    },
  };
}
