import { SchemaGenerationError } from '../../shared/errors.ts';

/**
 * A small deterministic YAML emitter for generated files (the CRD). Keys keep insertion order; strings are
 * plain when unambiguous and JSON-quoted otherwise (a JSON string is a valid YAML double-quoted scalar).
 */
export function toYaml(value: unknown): string {
  return `${emit(value, 0).join('\n')}\n`;
}

const PLAIN = /^[A-Za-z_/.][A-Za-z0-9_ ./()=,+-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;

function scalar(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v !== 'string') throw new SchemaGenerationError(`cannot emit ${typeof v} as YAML`);
  return PLAIN.test(v) && !RESERVED.test(v) && !v.endsWith(' ') ? v : JSON.stringify(v);
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

function emit(value: unknown, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (isScalar(value)) return [pad + scalar(value)];
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${pad}[]`];
    return value.flatMap((item) => {
      if (isScalar(item) || isEmpty(item)) return [`${pad}- ${inline(item)}`];
      const lines = emit(item, indent + 2);
      return [`${pad}- ${lines[0]!.trimStart()}`, ...lines.slice(1)];
    });
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return [`${pad}{}`];
  return entries.flatMap(([k, v]) => {
    if (isScalar(v) || isEmpty(v)) return [`${pad}${scalar(k)}: ${inline(v)}`];
    // Block sequences under a key are written at the key's indentation, as kubectl does.
    return [`${pad}${scalar(k)}:`, ...emit(v, Array.isArray(v) ? indent : indent + 2)];
  });
}

function isEmpty(v: unknown): boolean {
  return Array.isArray(v)
    ? v.length === 0
    : typeof v === 'object' && v !== null && Object.keys(v).length === 0;
}

function inline(v: unknown): string {
  if (isScalar(v)) return scalar(v);
  return Array.isArray(v) ? '[]' : '{}';
}
