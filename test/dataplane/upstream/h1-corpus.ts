/**
 * The corpus of the differential test (h1-differential.test.ts): upstream responses as raw bytes, hand-written
 * edge cases plus ones from a seeded generator. `strict` marks cases whose framing is ambiguous or malformed
 * (RFC 9112 §6.3, §7.1, §5.2): our client must refuse them (502) or agree with undici, never differ silently.
 */

/** One upstream response as the test server writes it. */
export interface Case {
  name: string;
  method: 'GET' | 'HEAD';
  /** The bytes the server writes for the request, in these segments (one write each, a turn apart). */
  parts: Buffer[];
  /** The server closes its side after writing (close-delimited bodies, and whatever it chooses). */
  end: boolean;
  /** Ambiguous or malformed framing: refusing is the expected answer for our client. */
  strict: boolean;
  /** Where ours follows the RFC and llhttp does not: the header values may differ, for this reason. */
  rfcDiffers?: string;
}

const CRLF = '\r\n';

function one(name: string, text: string, o: Partial<Omit<Case, 'name' | 'parts'>> = {}): Case {
  return {
    name,
    method: o.method ?? 'GET',
    parts: [Buffer.from(text, 'latin1')],
    end: o.end ?? false,
    strict: o.strict ?? false,
    ...(o.rfcDiffers !== undefined ? { rfcDiffers: o.rfcDiffers } : {}),
  };
}

/** Hand-written edge cases, one per rule of RFC 9112 framing we rely on. */
export function handWritten(): Case[] {
  const h = (lines: string[], body = '') => `${lines.join(CRLF)}${CRLF}${CRLF}${body}`;
  return [
    one('content-length', h(['HTTP/1.1 200 OK', 'Content-Length: 5'], 'hello')),
    one('content-length zero', h(['HTTP/1.1 200 OK', 'Content-Length: 0'])),
    one(
      'chunked',
      h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `5${CRLF}hello${CRLF}0${CRLF}${CRLF}`),
    ),
    one(
      'chunked with extensions',
      h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `5;a=b;c="d"${CRLF}hello${CRLF}0;x${CRLF}${CRLF}`),
    ),
    one(
      'chunked with trailers',
      h(
        ['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Trailer: x-sum'],
        `3${CRLF}abc${CRLF}0${CRLF}x-sum: 1${CRLF}${CRLF}`,
      ),
    ),
    one(
      'chunked upper-case hex',
      h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `A${CRLF}0123456789${CRLF}0${CRLF}${CRLF}`),
    ),
    one('close-delimited', h(['HTTP/1.1 200 OK'], 'until the end'), { end: true }),
    one('HTTP/1.0 close-delimited', h(['HTTP/1.0 200 OK'], 'old'), { end: true }),
    one(
      'HTTP/1.0 keep-alive with length',
      h(['HTTP/1.0 200 OK', 'Connection: keep-alive', 'Content-Length: 2'], 'ok'),
    ),
    one('HTTP/1.0 with length, no keep-alive', h(['HTTP/1.0 200 OK', 'Content-Length: 2'], 'ok'), {
      end: true,
    }),
    one('connection close', h(['HTTP/1.1 200 OK', 'Connection: close', 'Content-Length: 2'], 'ok'), {
      end: true,
    }),
    one('HEAD with length', h(['HTTP/1.1 200 OK', 'Content-Length: 42']), { method: 'HEAD' }),
    one('HEAD chunked', h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']), { method: 'HEAD' }),
    one('204', h(['HTTP/1.1 204 No Content'])),
    one('304 with length', h(['HTTP/1.1 304 Not Modified', 'Content-Length: 10', 'ETag: "x"'])),
    one(
      '100 continue then 200',
      `${h(['HTTP/1.1 100 Continue'])}${h(['HTTP/1.1 200 OK', 'Content-Length: 1'], 'x')}`,
    ),
    one(
      '103 early hints then 200',
      `${h(['HTTP/1.1 103 Early Hints', 'Link: </a.css>; rel=preload'])}${h(['HTTP/1.1 200 OK', 'Content-Length: 1'], 'y')}`,
    ),
    one(
      'two 1xx then 200',
      `${h(['HTTP/1.1 100 Continue'])}${h(['HTTP/1.1 102 Processing'])}${h(['HTTP/1.1 201 Created', 'Content-Length: 0'])}`,
    ),
    one(
      'repeated set-cookie',
      h(['HTTP/1.1 200 OK', 'Set-Cookie: a=1', 'Set-Cookie: b=2', 'Content-Length: 0']),
    ),
    one(
      'same content-length twice',
      h(['HTTP/1.1 200 OK', 'Content-Length: 3', 'Content-Length: 3'], 'abc'),
      { strict: true },
    ),
    one('empty reason phrase', h(['HTTP/1.1 200 ', 'Content-Length: 1'], 'z')),
    one('no reason phrase', h(['HTTP/1.1 200', 'Content-Length: 1'], 'z'), { strict: true }),
    one('value with OWS', h(['HTTP/1.1 200 OK', 'X-A:   spaced\t ', 'Content-Length: 0']), {
      rfcDiffers: 'RFC 9110 §5.5: trailing OWS is not part of the value; llhttp keeps it',
    }),
    // Malformed or ambiguous framing: the response-splitting shapes.
    one(
      'CL and TE',
      h(
        ['HTTP/1.1 200 OK', 'Content-Length: 3', 'Transfer-Encoding: chunked'],
        `3${CRLF}abc${CRLF}0${CRLF}${CRLF}`,
      ),
      { strict: true },
    ),
    one('two different CLs', h(['HTTP/1.1 200 OK', 'Content-Length: 3', 'Content-Length: 4'], 'abcd'), {
      strict: true,
      end: true,
    }),
    one('CL list disagreeing', h(['HTTP/1.1 200 OK', 'Content-Length: 3, 4'], 'abcd'), {
      strict: true,
      end: true,
    }),
    one('CL with plus', h(['HTTP/1.1 200 OK', 'Content-Length: +3'], 'abc'), { strict: true, end: true }),
    one('CL negative', h(['HTTP/1.1 200 OK', 'Content-Length: -1'], 'abc'), { strict: true, end: true }),
    one(
      'bad chunk size',
      h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `0x3${CRLF}abc${CRLF}0${CRLF}${CRLF}`),
      { strict: true, end: true },
    ),
    one(
      'chunk size not hex',
      h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `g${CRLF}abc${CRLF}0${CRLF}${CRLF}`),
      { strict: true, end: true },
    ),
    one(
      'chunk data longer than size',
      h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `2${CRLF}abc${CRLF}0${CRLF}${CRLF}`),
      { strict: true, end: true },
    ),
    one(
      'chunk size with bare LF',
      h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `3\nabc${CRLF}0${CRLF}${CRLF}`),
      { strict: true, end: true },
    ),
    one('obs-fold', h(['HTTP/1.1 200 OK', 'X-Folded: a', ' b', 'Content-Length: 0']), {
      strict: true,
      end: true,
    }),
    one('NUL in value', h(['HTTP/1.1 200 OK', 'X-Nul: a\0b', 'Content-Length: 0']), {
      strict: true,
      end: true,
    }),
    one('CR in value', h(['HTTP/1.1 200 OK', 'X-Cr: a\rb', 'Content-Length: 0']), {
      strict: true,
      end: true,
    }),
    one('space before colon', h(['HTTP/1.1 200 OK', 'Content-Length : 3'], 'abc'), {
      strict: true,
      end: true,
    }),
    one('bare LF head', 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', { strict: true, end: true }),
    one('TE chunked not last', h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked, gzip'], 'raw'), {
      strict: true,
      end: true,
    }),
    one(
      'TE gzip, chunked',
      h(['HTTP/1.1 200 OK', 'Transfer-Encoding: gzip, chunked'], `3${CRLF}abc${CRLF}0${CRLF}${CRLF}`),
      { strict: true, end: true },
    ),
    one(
      'TE chunked twice',
      h(
        ['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'],
        `3${CRLF}abc${CRLF}0${CRLF}${CRLF}`,
      ),
      { strict: true, end: true },
    ),
    one('status 101', h(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade']), {
      strict: true,
      end: true,
    }),
    one('HTTP/2 status line', h(['HTTP/2 200 OK', 'Content-Length: 0']), { strict: true, end: true }),
    one('status 99', h(['HTTP/1.1 099 Odd', 'Content-Length: 0']), { strict: true, end: true }),
    one('body longer than CL', h(['HTTP/1.1 200 OK', 'Content-Length: 2'], 'okEXTRA'), { strict: true }),
    one('body shorter than CL', h(['HTTP/1.1 200 OK', 'Content-Length: 9'], 'short'), {
      strict: true,
      end: true,
    }),
    one('truncated chunked', h(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked'], `5${CRLF}he`), {
      strict: true,
      end: true,
    }),
  ];
}

const INTERIM_100 = Buffer.from('HTTP/1.1 100 ', 'latin1');

/**
 * undici refuses any 100 (Continue) it did not ask for ("bad response"), while RFC 9110 §15.2 says a client
 * MUST parse 1xx responses it does not expect. For such a case, the same response without its leading 100
 * responses is what undici's answer is compared against. undefined when the case has no leading 100.
 */
export function without100(c: Case): Case | undefined {
  const bytes = Buffer.concat(c.parts);
  if (!bytes.subarray(0, INTERIM_100.length).equals(INTERIM_100)) return undefined;
  let at = 0;
  while (bytes.subarray(at, at + 9).toString('latin1') === 'HTTP/1.1 ' && bytes[at + 9] === 0x31) {
    at = bytes.indexOf('\r\n\r\n', at, 'latin1') + 4;
  }
  return { ...c, name: `${c.name} (without 1xx)`, parts: [bytes.subarray(at)] };
}

/** mulberry32: a small seeded PRNG, so a failing case is reproduced by its seed and index. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STATUSES = [200, 201, 202, 203, 206, 301, 302, 400, 404, 410, 500, 503];
const FIELDS = [
  'Content-Type: text/plain',
  'Cache-Control: no-store',
  'Set-Cookie: s=1; Path=/',
  'Set-Cookie: t=2; HttpOnly',
  'X-Custom: value with spaces',
  'X-Empty:',
  'Vary: Accept-Encoding',
  'ETag: "abc"',
  'X-Latin: caf\xe9',
  'Keep-Alive: timeout=5',
];
type Flaw =
  | 'none'
  | 'cl+te'
  | 'two-cl'
  | 'bad-chunk'
  | 'obs-fold'
  | 'nul'
  | 'bare-lf'
  | 'longer'
  | 'ws-colon';
const FLAWS: Flaw[] = ['cl+te', 'two-cl', 'bad-chunk', 'obs-fold', 'nul', 'bare-lf', 'longer', 'ws-colon'];

/** `count` generated cases from `seed`: random status, fields, framing, 1xx, splits; ~1 in 3 with a flaw. */
export function generated(seed: number, count: number): Case[] {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const out: Case[] = [];
  for (let i = 0; i < count; i++) {
    const method = r() < 0.15 ? 'HEAD' : 'GET';
    const framing = pick(['length', 'chunked', 'close', 'length', 'chunked'] as const);
    const flaw: Flaw = r() < 0.33 ? pick(FLAWS) : 'none';
    const status = pick(STATUSES);
    const http10 = framing === 'close' && r() < 0.3;
    const lines = [`HTTP/1.${http10 ? 0 : 1} ${status} Reason`];
    for (const f of FIELDS) if (r() < 0.3) lines.push(f);
    const body = Buffer.alloc(Math.floor(r() * 3000), 0x61 + (i % 26)).toString('latin1');
    let payload = body;
    if (framing === 'length') lines.push(`Content-Length: ${body.length}`);
    if (framing === 'chunked') {
      lines.push('Transfer-Encoding: chunked');
      payload = chunk(body, r, flaw === 'bad-chunk');
    }
    if (flaw === 'cl+te')
      lines.push(framing === 'chunked' ? `Content-Length: ${body.length}` : 'Transfer-Encoding: chunked');
    if (flaw === 'two-cl') lines.push(`Content-Length: ${body.length + 1}`);
    if (flaw === 'obs-fold') lines.splice(1, 0, 'X-Fold: a', '\tb');
    if (flaw === 'nul') lines.splice(1, 0, 'X-Nul: a\0b');
    if (flaw === 'ws-colon') lines.splice(1, 0, 'X-Space : b');
    if (flaw === 'longer' && framing !== 'close')
      payload += 'HTTP/1.1 200 OK\r\nX-Smuggled: 1\r\nContent-Length: 0\r\n\r\n';
    const sep = flaw === 'bare-lf' ? '\n' : CRLF;
    let text = `${lines.join(sep)}${sep}${sep}${method === 'HEAD' ? '' : payload}`;
    const interim = r() < 0.2 ? pick([100, 103]) : 0;
    if (interim !== 0) text = `HTTP/1.1 ${interim} Interim${CRLF}${CRLF}${text}`;
    const bytes = Buffer.from(text, 'latin1');
    const parts: Buffer[] = [];
    let at = 0;
    const splits = Math.floor(r() * 4);
    for (let s = 0; s < splits && at < bytes.length; s++) {
      const next = at + 1 + Math.floor(r() * (bytes.length - at));
      parts.push(bytes.subarray(at, next));
      at = next;
    }
    if (at < bytes.length) parts.push(bytes.subarray(at));
    const strict = flaw !== 'none' && !(flaw === 'longer' && framing === 'close');
    out.push({
      name: `gen ${seed}/${i}: ${method} ${status} ${framing}${http10 ? ' 1.0' : ''} flaw=${flaw}${interim ? ` after ${interim}` : ''}`,
      method,
      parts,
      end: framing === 'close' || http10 || strict,
      strict,
    });
  }
  return out;
}

function chunk(body: string, r: () => number, flawed: boolean): string {
  let out = '';
  let at = 0;
  while (at < body.length) {
    const n = 1 + Math.floor(r() * Math.min(body.length - at, 900));
    const ext = r() < 0.2 ? ';ext=1' : '';
    out += `${n.toString(16)}${ext}${CRLF}${body.slice(at, at + n)}${CRLF}`;
    at += n;
  }
  if (flawed) out = `zz${CRLF}${out}`;
  const trailer = r() < 0.2 ? `X-Trailer: t${CRLF}` : '';
  return `${out}0${CRLF}${trailer}${CRLF}`;
}
