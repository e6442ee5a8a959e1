import { z } from 'zod';
import { SchemaGenerationError } from '../../shared/errors.ts';
import {
  STICKYROUTE_GROUP,
  STICKYROUTE_KIND,
  STICKYROUTE_PLURAL,
  STICKYROUTE_VERSION,
  stickyRouteSpecSchema,
  stickyRouteStatusSchema,
} from './schema.ts';

type Json = Record<string, unknown>;

// JSON Schema keywords a structural CRD schema keeps, in the order they are written.
const KEPT = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'required',
] as const;
const DROPPED = new Set(['$schema', 'additionalProperties']);

/**
 * The StickyRoute CustomResourceDefinition, with its OpenAPI v3 schema derived from the zod schemas.
 * Structural (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
 * every node has a type, no $ref, and the one union (number or name) becomes x-kubernetes-int-or-string.
 */
export function stickyRouteCrd(): Json {
  const spec = structural(z.toJSONSchema(stickyRouteSpecSchema, { io: 'input' }) as Json, 'spec');
  const status = structural(z.toJSONSchema(stickyRouteStatusSchema, { io: 'input' }) as Json, 'status');
  const conditions = (status.properties as Json).conditions as Json;
  conditions['x-kubernetes-list-type'] = 'map';
  conditions['x-kubernetes-list-map-keys'] = ['type'];
  ((conditions.items as Json).properties as Json).lastTransitionTime = {
    type: 'string',
    format: 'date-time',
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${STICKYROUTE_PLURAL}.${STICKYROUTE_GROUP}` },
    spec: {
      group: STICKYROUTE_GROUP,
      names: {
        kind: STICKYROUTE_KIND,
        listKind: `${STICKYROUTE_KIND}List`,
        plural: STICKYROUTE_PLURAL,
        singular: STICKYROUTE_KIND.toLowerCase(),
        categories: ['sticky-ingress'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: STICKYROUTE_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Hosts', type: 'string', jsonPath: '.spec.hosts' },
            {
              name: 'Accepted',
              type: 'string',
              jsonPath: '.status.conditions[?(@.type=="Accepted")].status',
            },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              description:
                'StickyRoute routes hosts and paths to Services, with per-route cookie affinity and balancing.',
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: {
                  description:
                    'Hosts and ordered routes, each with its own balancing, affinity, timeouts and health checks.',
                  ...spec,
                },
                status: {
                  description: 'Written by sticky-ingress: Accepted, ResolvedRefs and Programmed conditions.',
                  ...status,
                },
              },
            },
          },
        },
      ],
    },
  };
}

/** Rewrites a zod JSON Schema node into the structural subset; throws on anything it does not know. */
function structural(node: Json, path: string): Json {
  const anyOf = node.anyOf as Json[] | undefined;
  if (anyOf) {
    const types = anyOf.map((n) => n.type).sort();
    if (types.join() !== 'integer,string')
      throw new SchemaGenerationError(`${path}: only int-or-string unions are supported`);
    return {
      ...(node.description ? { description: node.description } : {}),
      'x-kubernetes-int-or-string': true,
    };
  }
  const out: Json = {};
  for (const key of KEPT) if (node[key] !== undefined) out[key] = node[key];
  // zod's .int() bounds every integer to the safe range; int64 fields need no such bound in the CRD.
  if (Math.abs(Number(out.maximum)) === Number.MAX_SAFE_INTEGER) delete out.maximum;
  if (Math.abs(Number(out.minimum)) === Number.MAX_SAFE_INTEGER) delete out.minimum;
  if (node.const !== undefined) out.enum = [node.const];
  if (node.properties) {
    out.properties = Object.fromEntries(
      Object.entries(node.properties as Record<string, Json>).map(([k, v]) => [
        k,
        structural(v, `${path}.${k}`),
      ]),
    );
  }
  if (node.items) out.items = structural(node.items as Json, `${path}[]`);
  const known = new Set<string>([...KEPT, ...DROPPED, 'const', 'properties', 'items', 'anyOf']);
  const unknown = Object.keys(node).filter((k) => !known.has(k));
  if (unknown.length > 0)
    throw new SchemaGenerationError(`${path}: unsupported JSON Schema keywords ${unknown.join(', ')}`);
  if (!out.type) throw new SchemaGenerationError(`${path}: a structural schema needs a type`);
  return out;
}
