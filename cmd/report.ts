import type { ManifestProblem } from '../src/controller/manifests/index.ts';
import type { Diagnostic } from '../src/controller/view.ts';

/** One line per diagnostic: severity, kind namespace/name, field, reason, message. */
export function formatDiagnostic(d: Diagnostic): string {
  const field = d.field === undefined ? '' : ` ${d.field}`;
  return `${d.severity} ${d.object.kind} ${d.object.namespace}/${d.object.name}${field} ${d.reason}: ${d.message}`;
}

/** One line per manifest problem: the file, the object when known, what is wrong. */
export function formatProblem(p: ManifestProblem): string {
  return `Error ${p.file}${p.object === undefined ? '' : ` ${p.object}`} ParseError: ${p.message}`;
}

/** Stable identity of a diagnostic, to log each one once per change rather than on every rebuild. */
export function diagnosticKey(d: Diagnostic): string {
  return `${d.severity}|${d.object.kind}|${d.object.namespace}|${d.object.name}|${d.field ?? ''}|${d.reason}|${d.message}`;
}
