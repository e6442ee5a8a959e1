/**
 * The request target, checked and normalised before routing (RFC 9112 3.2, RFC 3986 5.2.4 and 6.2.2).
 * Only origin-form (`/path?query`) and absolute-form (`http://authority/path?query`) are served; the path is
 * normalised the way Envoy's `normalize_path` does, and the normalised path is what is matched and forwarded.
 */

/** A request target that may be routed: the authority (absolute-form only), the normalised path and the query. */
export interface ParsedTarget {
  /** The absolute-form target's authority (`host[:port]`), which wins over Host (RFC 9112 3.2.2); else undefined. */
  readonly authority: string | undefined;
  /** The normalised path: dot segments removed, percent-encoded unreserved characters decoded. */
  readonly path: string;
  /** `?query` as received, or ''. */
  readonly query: string;
}

// RFC 3986 2.3 unreserved characters: their percent-encoded form means the same as the literal one.
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
// An absolute-form target over http or https; the authority has no userinfo (RFC 9110 4.2.4 forbids it).
const ABSOLUTE = /^(https?):\/\/([^/?#@\s]+)([^#\s]*)$/i;

/**
 * Parses `target` (req.url as received). undefined => answer 400: asterisk-form (`*`), authority-form, other
 * schemes, a fragment, control characters, a malformed or forbidden percent-encoding, or a path that cannot
 * be normalised safely.
 */
export function parseTarget(target: string): ParsedTarget | undefined {
  let authority: string | undefined;
  let rest = target;
  if (target.charCodeAt(0) !== 47 /* / */) {
    const m = ABSOLUTE.exec(target);
    if (m === null) return undefined;
    authority = (m[2] as string).toLowerCase();
    rest = (m[3] as string) || '/';
    if (rest.charCodeAt(0) !== 47) rest = `/${rest}`;
  }
  const q = rest.indexOf('?');
  const raw = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? '' : rest.slice(q);
  const path = normalizePath(raw);
  return path === undefined ? undefined : { authority, path, query };
}

/**
 * RFC 3986 normalisation of an origin-form path: percent-encoded unreserved characters decoded (so `%2e` is a
 * dot), remaining escapes upper-cased, then dot segments removed (5.2.4). undefined (400) for a malformed escape,
 * `%00`, and an encoded `/` or `\` (`%2F`, `%5C`) or a raw `\` anywhere: a backend that decodes them would see a
 * different path than the one we matched, so we refuse rather than keep them opaque.
 */
function normalizePath(raw: string): string | undefined {
  // Fast path: nothing to decode and no dot segment possible.
  if (raw.indexOf('%') === -1 && raw.indexOf('\\') === -1 && raw.indexOf('/.') === -1) return raw;
  if (raw.indexOf('\\') !== -1) return undefined;
  const segments = raw.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const seg = decodeUnreserved(segments[i] as string);
    if (seg === undefined) return undefined;
    const last = i === segments.length - 1;
    if (seg === '.' || seg === '..') {
      if (seg === '..' && out.length > 0) out.pop();
      // `/a/b/..` -> `/a/`: a trailing dot segment leaves its directory (RFC 3986 5.2.4 step 2.B/C).
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return `/${out.join('/')}`;
}

function decodeUnreserved(seg: string): string | undefined {
  if (seg.indexOf('%') === -1) return seg;
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c !== '%') {
      out += c;
      continue;
    }
    const hex = seg.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    const code = Number.parseInt(hex, 16);
    // %2F and %5C would become separators for a backend that decodes; %00 ends strings in C backends.
    if (code === 0x2f || code === 0x5c || code === 0) return undefined;
    const ch = String.fromCharCode(code);
    out += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return out;
}
