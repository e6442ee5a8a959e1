import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { certificate, endpointSlice, ingress, service } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

/**
 * The edge of issue 16 on a real API server: SSL passthrough to backends that terminate TLS themselves (with
 * a PROXY v2 header to them), PROXY protocol on the listeners from a trusted source, and consistent hashing
 * (`upstream-hash-by`, `load-balance: source-ip`) through real EndpointSlice changes. Clients connect from
 * distinct loopback addresses (127.0.0.0/8); 127.0.0.2 is the only trusted PROXY sender.
 */

const PASS = 'pass.example.com';
const HASH = 'hash.example.com';
const SOURCE = 'source.example.com';
const TRUSTED = '127.0.0.2';

/** What a backend answered: its id, the X-Forwarded-For and the PROXY source it read (if it reads one). */
interface Answer {
  status: number;
  id?: string;
  forwardedFor?: string;
  proxySource?: string;
}

function parseAnswer(raw: string): Answer {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  const start = raw.indexOf('{');
  if (status !== 200 || start === -1) return { status };
  return { status, ...(JSON.parse(raw.slice(start, raw.lastIndexOf('}') + 1)) as Omit<Answer, 'status'>) };
}

/** Everything received until the peer closes (a reset counts as a close). */
function collect(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      raw += d;
    });
    socket.on('error', () => {});
    socket.once('close', () => resolve(raw));
  });
}

/** A plain HTTP GET from `from`, optionally after `preface` bytes (a PROXY header). */
async function httpFrom(
  port: number,
  from: string,
  host: string,
  headers: Record<string, string> = {},
  preface = '',
): Promise<Answer> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`${preface}GET / HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
  return parseAnswer(await collect(socket));
}

/** An HTTPS GET through passthrough from `from`: the certificate CN the client saw, and the answer. */
function tlsFrom(port: number, from: string, preface = ''): Promise<{ cn: string; answer: Answer }> {
  return new Promise((resolve, reject) => {
    const tcp = connect({ host: '127.0.0.1', port, localAddress: from });
    if (preface !== '') tcp.write(preface);
    const socket = tlsConnect({ socket: tcp, servername: PASS, rejectUnauthorized: false }, () => {
      const cn = String(socket.getPeerCertificate().subject?.CN ?? '');
      socket.write(`GET / HTTP/1.1\r\nHost: ${PASS}\r\nConnection: close\r\n\r\n`);
      collect(socket).then((raw) => resolve({ cn, answer: parseAnswer(raw) }), reject);
    });
    socket.once('error', reject);
  });
}

describe('edge: passthrough, PROXY protocol, consistent hashing (issue 16)', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  const tlsBackends: Backend[] = [];
  const hashBackends: Backend[] = [];

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('edge');
    const pem = await certificate([PASS], 'edge-passthrough-backend');
    const certFile = join(env.cluster.dir, 'edge-backend.crt');
    const keyFile = join(env.cluster.dir, 'edge-backend.key');
    await writeFile(certFile, pem.cert);
    await writeFile(keyFile, pem.key, { mode: 0o600 });
    const tlsArgs = ['--cert', certFile, '--key', keyFile, '--accept-proxy'];
    for (const id of ['pt-0', 'pt-1', 'pt-2']) {
      tlsBackends.push(await env.host().startBackend(id, 3000, tlsArgs));
    }
    for (const id of ['h-0', 'h-1', 'h-2', 'h-3', 'h-4'])
      hashBackends.push(await env.host().startBackend(id));
    await env.admin.apply(service(ns, 'tlsapp'));
    await env.admin.apply(endpointSlice(ns, 'tlsapp', tlsBackends));
    await env.admin.apply(service(ns, 'hashapp'));
    await env.admin.apply(endpointSlice(ns, 'hashapp', hashBackends.slice(0, 4)));
    await env.admin.apply(
      ingress(ns, 'pass', [{ host: PASS, service: 'tlsapp' }], {
        annotations: {
          'nginx.ingress.kubernetes.io/ssl-passthrough': 'true',
          'sticky-ingress.dev/proxy-protocol-upstream': 'v2',
        },
      }),
    );
    await env.admin.apply(
      ingress(ns, 'hash', [{ host: HASH, service: 'hashapp' }], {
        annotations: { 'nginx.ingress.kubernetes.io/upstream-hash-by': '$http_x_key' },
      }),
    );
    await env.admin.apply(
      ingress(ns, 'source', [{ host: SOURCE, service: 'hashapp' }], {
        annotations: { 'nginx.ingress.kubernetes.io/load-balance': 'source-ip' },
      }),
    );
    ctl = await env.controller('edge', [
      '--proxy-protocol-http',
      'strict',
      '--proxy-protocol-https',
      'strict',
      '--proxy-protocol-trusted',
      `${TRUSTED}/32`,
    ]);
    await waitForResponse(ctl.http, HASH, '/', (r) => r.status === 200);
    await waitForResponse(ctl.http, SOURCE, '/', (r) => r.status === 200);
    await waitFor(
      async () => {
        try {
          return (await tlsFrom(ctl.https, '127.0.0.1')).answer.status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 20_000, description: 'passthrough host served' },
    );
  });

  after(async () => {
    await env?.close();
  });

  test('ssl-passthrough: the backend terminates TLS (its certificate reaches the client) and reads the client from our PROXY v2 header', async () => {
    const socket = await tlsFrom(ctl.https, '127.0.0.11');
    assert.equal(socket.cn, 'edge-passthrough-backend');
    assert.equal(socket.answer.status, 200);
    assert.ok(['pt-0', 'pt-1', 'pt-2'].includes(String(socket.answer.id)));
    assert.match(String(socket.answer.proxySource), /^127\.0\.0\.11:\d+$/);
  });

  test('ssl-passthrough: a source sticks to one endpoint; sources spread over the endpoints', async () => {
    const seen = new Map<string, Set<string>>();
    for (let i = 20; i < 32; i += 1) {
      const from = `127.0.0.${i}`;
      const ids = new Set<string>();
      for (let j = 0; j < 3; j += 1) ids.add(String((await tlsFrom(ctl.https, from)).answer.id));
      seen.set(from, ids);
    }
    for (const [from, ids] of seen) assert.equal(ids.size, 1, `${from} reached ${[...ids].join(', ')}`);
    const used = new Set([...seen.values()].flatMap((s) => [...s]));
    assert.ok(used.size >= 2, `12 sources all on ${[...used].join(', ')}`);
  });

  test('PROXY on the HTTPS listener from the trusted source: passthrough sticks by, and forwards, the carried address', async () => {
    const preface = (port: number) => `PROXY TCP4 203.0.113.50 198.51.100.1 ${port} 443\r\n`;
    const a = await tlsFrom(ctl.https, TRUSTED, preface(40001));
    const b = await tlsFrom(ctl.https, TRUSTED, preface(40002));
    assert.equal(a.answer.proxySource, '203.0.113.50:40001');
    assert.equal(b.answer.proxySource, '203.0.113.50:40002');
    assert.equal(a.answer.id, b.answer.id, 'one carried client address, one endpoint');
  });

  test('PROXY on the HTTP listener: X-Forwarded-For carries the PROXY address from the trusted source only', async () => {
    const v1 = await httpFrom(ctl.http, TRUSTED, HASH, {}, 'PROXY TCP4 203.0.113.7 198.51.100.1 5555 80\r\n');
    assert.equal(v1.status, 200);
    assert.equal(v1.forwardedFor, '203.0.113.7');
    // Strict: the trusted source without a header is closed without an answer.
    assert.deepEqual(await httpFrom(ctl.http, TRUSTED, HASH), { status: 0 });
    // Any other source is a direct client: its header is never believed (a bad request line).
    const forged = await httpFrom(
      ctl.http,
      '127.0.0.3',
      HASH,
      {},
      'PROXY TCP4 203.0.113.7 198.51.100.1 1 80\r\n',
    );
    assert.equal(forged.status, 400);
    const direct = await httpFrom(ctl.http, '127.0.0.3', HASH);
    assert.equal(direct.forwardedFor, '127.0.0.3');
  });

  test('load-balance: source-ip: the same client address reaches the same endpoint', async () => {
    const used = new Set<string>();
    for (let i = 40; i < 56; i += 1) {
      const from = `127.0.0.${i}`;
      const ids = new Set<string>();
      for (let j = 0; j < 3; j += 1) ids.add(String((await httpFrom(ctl.http, from, SOURCE)).id));
      assert.equal(ids.size, 1, `${from} reached ${[...ids].join(', ')}`);
      used.add([...ids][0] as string);
    }
    assert.ok(used.size >= 2, `16 sources all on ${[...used].join(', ')}`);
  });

  test('upstream-hash-by: same key same endpoint; a 5th endpoint (EndpointSlice) moves about 1/5 of the keys', async (t) => {
    const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`);
    const map = async () => {
      const out = new Map<string, string>();
      for (const k of keys)
        out.set(k, String((await httpFrom(ctl.http, '127.0.0.1', HASH, { 'x-key': k })).id));
      return out;
    };
    const before4 = await map();
    assert.deepEqual(await map(), before4, 'every key reached the same endpoint twice');
    assert.ok(new Set(before4.values()).size === 4, 'the keys spread over the 4 endpoints');
    await env.admin.apply(endpointSlice(ns, 'hashapp', hashBackends));
    // Converged when some key reaches the new endpoint (the snapshot swap is atomic).
    await waitFor(
      async () => {
        for (const k of keys.slice(0, 40)) {
          if ((await httpFrom(ctl.http, '127.0.0.1', HASH, { 'x-key': k })).id === 'h-4') return true;
        }
        return false;
      },
      { timeoutMs: 30_000, description: 'the 5th endpoint in use' },
    );
    const after5 = await map();
    const moved = keys.filter((k) => after5.get(k) !== before4.get(k));
    const toNew = moved.filter((k) => after5.get(k) === 'h-4');
    const fraction = moved.length / keys.length;
    t.diagnostic(
      `moved ${moved.length}/${keys.length} = ${fraction.toFixed(3)}; ${toNew.length} to the new endpoint`,
    );
    // Ideal 1/5 = 0.2; a modulo hash would move about 4/5. Bounds leave room for 300 random-ish keys.
    assert.ok(fraction >= 0.1 && fraction <= 0.32, `moved ${moved.length}/${keys.length} = ${fraction}`);
    assert.ok(
      toNew.length >= moved.length * 0.7,
      `${toNew.length} of ${moved.length} moved keys went to h-4`,
    );
  });
});
