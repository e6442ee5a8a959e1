import { UNSUPPORTED_ACCESS_CONTROL } from './access.ts';
import { type AnnotationDescriptor, NGINX_PREFIX } from './descriptor.ts';
import { IGNORED_NGINX_ANNOTATIONS, NGINX_ANNOTATION_KEYS, REFUSED_NGINX_ANNOTATIONS } from './ignored.ts';
import { ANNOTATION_DESCRIPTORS } from './index.ts';

/** What sticky-ingress does with one ingress-nginx annotation key. */
export interface NginxKeyFate {
  key: string;
  /** served: read with ingress-nginx's meaning; refused: the Ingress is not served; ignored: a Warning. */
  fate: 'served' | 'refused' | 'ignored';
  /** For served keys, what differs from ingress-nginx ('' when nothing); otherwise why it is not served. */
  note: string;
}

const SERVED = new Map(
  ANNOTATION_DESCRIPTORS.filter((d: AnnotationDescriptor) => d.nginx).map(
    (d) => [d.key, d.differs ?? ''] as const,
  ),
);

/** The fate of `key` (without prefix). Unknown keys are ignored, like every key not in the tables. */
export function nginxKeyFate(key: string): NginxKeyFate {
  const served = SERVED.get(key);
  if (served !== undefined) return { key, fate: 'served', note: served };
  const refused = REFUSED_NGINX_ANNOTATIONS[key];
  if (refused !== undefined) return { key, fate: 'refused', note: refused };
  const access = UNSUPPORTED_ACCESS_CONTROL[key];
  if (access !== undefined)
    return { key, fate: 'refused', note: `${access} is not implemented (fails closed)` };
  return {
    key,
    fate: 'ignored',
    note: IGNORED_NGINX_ANNOTATIONS[key] ?? 'not an ingress-nginx annotation we know',
  };
}

/** Every documented ingress-nginx key with its fate, sorted by key: the migration table. */
export function nginxCatalogue(): NginxKeyFate[] {
  return [...NGINX_ANNOTATION_KEYS].sort().map(nginxKeyFate);
}

/** One line of a migration report: an annotation of one Ingress, and whether it behaves the same here. */
export interface MigrationLine {
  annotation: string;
  verdict: 'same' | 'differs' | 'refused' | 'ignored';
  note: string;
}

/**
 * The migration report of one Ingress's annotations (`sticky-ingress check`): each ingress-nginx key it
 * carries, and whether sticky-ingress serves it the same, differently, refuses the Ingress for it, or ignores it.
 */
export function migrationReport(annotations: Readonly<Record<string, string>>): MigrationLine[] {
  const out: MigrationLine[] = [];
  for (const annotation of Object.keys(annotations).sort()) {
    if (!annotation.startsWith(NGINX_PREFIX)) continue;
    const f = nginxKeyFate(annotation.slice(NGINX_PREFIX.length));
    const verdict = f.fate === 'served' ? (f.note ? 'differs' : 'same') : f.fate;
    out.push({ annotation, verdict, note: f.note });
  }
  return out;
}
