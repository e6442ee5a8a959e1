import type { HashPart } from '../../snapshot/index.ts';

/**
 * ingress-nginx `upstream-hash-by` templates (`$remote_addr`, `$request_uri`, `$http_<name>`, `$cookie_<name>`
 * and fixed text around them, e.g. `$http_x_tenant-$cookie_team`) parsed into typed parts. The template is data:
 * only these variables are recognised, nothing is evaluated (the IngressNightmare class, CVE-2025-1974, came
 * from annotation text becoming configuration code).
 */

/** Longest template accepted, and most parts in one. */
export const HASH_BY_MAX_LENGTH = 256;
const MAX_PARTS = 16;
const NAME = /[A-Za-z0-9_]/;

/** The parts of `template`, or a message saying what is wrong with it. */
export function parseHashBy(template: string): { parts: HashPart[] } | { error: string } {
  if (template.length === 0) return { error: 'empty template' };
  if (template.length > HASH_BY_MAX_LENGTH) return { error: `longer than ${HASH_BY_MAX_LENGTH} characters` };
  // Printable ASCII only: the key never carries control characters or text a log viewer would misread.
  if (!/^[\x20-\x7e]+$/.test(template)) return { error: 'only printable ASCII is allowed' };
  const parts: HashPart[] = [];
  let literal = '';
  let at = 0;
  while (at < template.length) {
    const c = template[at] as string;
    if (c !== '$') {
      literal += c;
      at++;
      continue;
    }
    const braced = template[at + 1] === '{';
    let end = at + (braced ? 2 : 1);
    while (end < template.length && NAME.test(template[end] as string)) end++;
    const name = template.slice(at + (braced ? 2 : 1), end);
    if (braced) {
      if (template[end] !== '}') return { error: `unterminated \${ at ${at}` };
      end++;
    }
    const part = variable(name);
    if (part === undefined) {
      return {
        error: `unknown variable $${name || '(none)'}: use $remote_addr, $request_uri, $http_NAME or $cookie_NAME`,
      };
    }
    if (literal !== '') parts.push({ kind: 'literal', text: literal });
    literal = '';
    parts.push(part);
    at = end;
  }
  if (literal !== '') parts.push({ kind: 'literal', text: literal });
  if (!parts.some((p) => p.kind !== 'literal'))
    return { error: 'no variable: every request would hash alike' };
  if (parts.length > MAX_PARTS) return { error: `more than ${MAX_PARTS} parts` };
  return { parts };
}

function variable(name: string): HashPart | undefined {
  if (name === 'remote_addr' || name === 'binary_remote_addr') return { kind: 'remote-addr' };
  if (name === 'request_uri') return { kind: 'request-uri' };
  // nginx: $http_x_user_id is the X-User-Id header (lower case, `_` for `-`).
  if (name.startsWith('http_') && name.length > 5) {
    return { kind: 'header', name: name.slice(5).toLowerCase().replace(/_/g, '-') };
  }
  if (name.startsWith('cookie_') && name.length > 7) return { kind: 'cookie', name: name.slice(7) };
  return undefined;
}

/** The template back as text (explain, docs): variables in nginx spelling. */
export function formatHashBy(parts: readonly HashPart[]): string {
  return parts
    .map((p) => {
      if (p.kind === 'literal') return p.text;
      if (p.kind === 'remote-addr') return '$remote_addr';
      if (p.kind === 'request-uri') return '$request_uri';
      if (p.kind === 'header') return `$http_${p.name.replace(/-/g, '_')}`;
      return `$cookie_${p.name}`;
    })
    .join('');
}
