import { z } from 'zod';
import { SchemaGenerationError } from '../../shared/errors.ts';

/** Our annotation prefix; every key is also documented under it. */
export const OWN_PREFIX = 'sticky-ingress.dev/';
/** ingress-nginx's prefix: the keys marked `nginx` are read from it too, with ingress-nginx's meanings. */
export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';

/** One annotation key: what the docs say about it and how risky a wrong value is. */
export interface AnnotationDescriptor {
  /** Key without prefix, e.g. `load-balance`. */
  key: string;
  /** Also read as `nginx.ingress.kubernetes.io/<key>` (ours wins when both are set). */
  nginx: boolean;
  /** Type or allowed values, as the docs and diagnostics show them. */
  values: string;
  default: string;
  description: string;
  /** How much a wrong value can hurt (ingress-nginx's risk levels): Low, Medium, High. */
  risk: 'Low' | 'Medium' | 'High';
  /**
   * Fail safe: an invalid value refuses the Ingress instead of falling back to the default, for keys whose
   * default would send requests to another backend, path or client than the user asked for.
   */
  refuseInvalid?: boolean;
  /** How sticky-ingress's behaviour differs from ingress-nginx's for this key (migration report, docs). */
  differs?: string;
}

/** A problem with one annotation; the caller turns it into a Diagnostic on the Ingress. */
export interface AnnotationIssue {
  severity: 'Warning' | 'Error';
  /** Full annotation key as written on the object. */
  annotation: string;
  reason:
    | 'InvalidAnnotation'
    | 'UnknownAnnotation'
    | 'IgnoredAnnotation'
    | 'UnsupportedAnnotation'
    | 'InvalidAccessControl'
    | 'UnsupportedAccessControl';
  message: string;
  /**
   * The object must not be served at all (fail safe): serving it would drop protection its author asked for,
   * or route requests to another backend, path or client than it asks. One mechanism for every such key.
   */
  refuses?: true;
}

/** Raw annotation lookup: ours first, then the nginx spelling when the descriptor allows it. */
export interface AnnotationReader {
  read(descriptor: AnnotationDescriptor): { key: string; value: string; fromNginx: boolean } | undefined;
}

/**
 * One annotation group (ingress-nginx's `annotations/<name>/main.go`): a zod object over raw strings whose
 * fields carry `.default()`, the descriptors of its keys, and optional rewrites of ingress-nginx spellings.
 */
export interface AnnotationGroup<S extends z.ZodObject> {
  name: string;
  schema: S;
  descriptors: readonly AnnotationDescriptor[];
  /** Maps an ingress-nginx value to ours before validation, e.g. `round_robin` -> `round-robin`. */
  fromNginx?: Readonly<Record<string, (value: string) => string>>;
}

/** A descriptor as a group writes it: `default` text only for keys whose schema field has no `.default()`. */
export type DescriptorSpec = Omit<AnnotationDescriptor, 'default'> & { default?: string };

/**
 * Defines a group with one source per default: each descriptor's `default` text (docs, diagnostics) is the
 * schema field's `.default()` value; hand-written text is allowed only where the field has none ("absent").
 * Throws at module load when a descriptor has both or neither: a programming error, not input.
 */
export function defineGroup<S extends z.ZodObject>(group: {
  name: string;
  schema: S;
  descriptors: readonly DescriptorSpec[];
  fromNginx?: Readonly<Record<string, (value: string) => string>>;
}): AnnotationGroup<S> {
  const descriptors = group.descriptors.map((d): AnnotationDescriptor => {
    const field = group.schema.shape[d.key] as z.ZodType | undefined;
    const parsed = field?.safeParse(undefined);
    const fromSchema = parsed?.success && parsed.data !== undefined ? String(parsed.data) : undefined;
    if ((fromSchema === undefined) === (d.default === undefined)) {
      throw new SchemaGenerationError(
        `annotation ${d.key}: default must come from the schema or, if it has none, the descriptor`,
      );
    }
    return { ...d, default: fromSchema ?? (d.default as string) };
  });
  return { ...group, descriptors };
}

/** A non-negative integer written as a string ("60"), bounded; ingress-nginx reads these with Atoi too. */
export function uint(min: number, max: number) {
  return z
    .string()
    .regex(/^\d{1,9}$/, 'a non-negative integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** "true" or "false" (ingress-nginx reads booleans with strconv.ParseBool; we accept only the two words). */
export const boolString = z.enum(['true', 'false']).transform((v) => v === 'true');

/**
 * Parses one group. Each key is validated alone so one bad value falls back to its default without taking
 * the others with it; the typed result comes from the group schema over the values that passed.
 */
export function parseGroup<S extends z.ZodObject>(
  group: AnnotationGroup<S>,
  reader: AnnotationReader,
  issues: AnnotationIssue[],
): z.output<S> {
  const clean: Record<string, string> = {};
  for (const d of group.descriptors) {
    const found = reader.read(d);
    if (!found) continue;
    const field = group.schema.shape[d.key] as z.ZodType | undefined;
    const rewrite = found.fromNginx ? group.fromNginx?.[d.key] : undefined;
    const value = rewrite ? rewrite(found.value) : found.value;
    if (field?.safeParse(value).success) {
      clean[d.key] = value;
      continue;
    }
    if (d.refuseInvalid) {
      issues.push({
        severity: 'Error',
        annotation: found.key,
        reason: 'InvalidAnnotation',
        message: `invalid value ${JSON.stringify(found.value)} for ${found.key}: expected ${d.values}; the Ingress is not served (its default would route requests differently)`,
        refuses: true,
      });
      continue;
    }
    issues.push({
      severity: 'Warning',
      annotation: found.key,
      reason: 'InvalidAnnotation',
      message: `invalid value ${JSON.stringify(found.value)} for ${found.key}: expected ${d.values}; using the default (${d.default})`,
    });
  }
  const parsed = group.schema.safeParse(clean);
  // Every value in `clean` passed its own field schema, so this only fails on a schema bug: use defaults.
  return parsed.success ? parsed.data : group.schema.parse({});
}
