import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { seeded } from '../upstream/fixtures.ts';

/**
 * Front-side fuzz (issue 10): random and mutated request heads, bodies and upgrade requests on real sockets from
 * several connections at once, with a well-behaved client in between. Bounded: a fixed seed, CASES cases at most,
 * and a time cap after which the loop stops early (the cap bounds the run, it is not asserted).
 */
const SEED = 0x5eed_1e55;
const CASES = 3_000;
const CONNECTIONS = 8;
const TIME_CAP_MS = 90_000;
const CASE_CAP_MS = 400;

const METHODS = [
  'GET',
  'POST',
  'PUT',
  'OPTIONS',
  'HEAD',
  'DELETE',
  'CONNECT',
  'PRI',
  'TRACE',
  'G\x00T',
  'get',
  '',
];
const TARGETS = [
  '/',
  '*',
  '/a/../../b',
  '/%2e%2e/%2E%2e/x',
  '/%2f',
  '/%5c..%5c',
  '/\\..\\',
  'http://fuzz.test/x',
  'https://other.test/',
  'fuzz.test:80',
  '//x',
  '/?a=%00',
  `/${'a'.repeat(9_000)}`,
  '/%',
  '/%zz',
  '/ws',
  '/.well-known/acme-challenge/../../x',
  '/socket.io/?EIO=4&transport=websocket',
  ' / ',
  '/\x7f',
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1 x', 'HTTPS/1.1', ''];
const HEADERS = [
  'Host: fuzz.test',
  'Host: other.test',
  'Host: ',
  'Host: fuzz.test\r\nHost: other.test',
  'Host: [::1]:80',
  'Upgrade: websocket',
  'Upgrade: WebSocket',
  'Upgrade: h2c',
  'Upgrade: websocket, h2c',
  'Upgrade: tls/1.0',
  'Connection: Upgrade',
  'Connection: upgrade, HTTP2-Settings',
  'Connection: close',
  'Connection: keep-alive, x-a',
  'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
  'Sec-WebSocket-Version: 13',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Content-Length: 5',
  'Content-Length: -1',
  'Content-Length: 5\r\nContent-Length: 6',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: xchunked',
  'Expect: 100-continue',
  'X-Forwarded-For: 10.0.0.1',
  'Forwarded: for=1.2.3.4',
  ' folded: header',
  'X-Bad\x00: y',
  'Cookie: route=zzz',
  `X-Long: ${'b'.repeat(20_000)}`,
  'Proxy-Connection: x',
];
const BODIES = [
  '',
  'hello',
  '5\r\nhello\r\n0\r\n\r\n',
  'zz\r\nx\r\n',
  '0\r\n\r\nGET / HTTP/1.1\r\nHost: fuzz.test\r\n\r\n',
];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)] as T;
}

/** One hostile payload: a generated head (sometimes a valid WebSocket upgrade) then maybe byte-level mutations. */
function payload(r: () => number): string {
  const kind = r();
  let head: string;
  if (kind < 0.1) {
    head =
      'GET /ws HTTP/1.1\r\nHost: fuzz.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
  } else {
    const headers: string[] = [];
    const n = Math.floor(r() * 6);
    for (let i = 0; i < n; i++) headers.push(pick(r, HEADERS));
    head = `${pick(r, METHODS)} ${pick(r, TARGETS)} ${pick(r, VERSIONS)}\r\n${headers.join('\r\n')}\r\n\r\n${pick(r, BODIES)}`;
  }
  if (kind > 0.6) {
    const bytes = [...head];
    const edits = 1 + Math.floor(r() * 4);
    for (let i = 0; i < edits; i++) {
      const at = Math.floor(r() * bytes.length);
      const op = r();
      const ch = String.fromCharCode(Math.floor(r() * 256));
      if (op < 0.33) bytes[at] = ch;
      else if (op < 0.66) bytes.splice(at, 0, ch);
      else bytes.splice(at, 1);
    }
    head = bytes.join('');
  }
  return head;
}

/** Sends `bytes` in one or a few writes, waits for the server to close or the case cap, then closes. */
function sendCase(port: number, bytes: string, r: () => number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, CASE_CAP_MS);
    socket.on('error', done);
    socket.on('close', done);
    socket.on('data', () => {});
    socket.once('connect', () => {
      const buf = Buffer.from(bytes, 'latin1');
      if (r() < 0.5) socket.write(buf);
      else {
        const cut = Math.floor(r() * buf.length);
        socket.write(buf.subarray(0, cut));
        setImmediate(() => socket.writable && socket.write(buf.subarray(cut)));
      }
    });
  });
}

let b0: TestBackend;
let b1: TestBackend;
let t: TestDataplane;
const upgradesSeen: { method: string; upgrade: string }[] = [];

before(async () => {
  [b0, b1] = [await startBackend('b0'), await startBackend('b1')];
  for (const b of [b0, b1]) {
    b.server.prependListener('upgrade', (req: IncomingMessage) =>
      upgradesSeen.push({ method: req.method ?? '', upgrade: req.headers.upgrade ?? '' }),
    );
  }
  t = await startDataplane({ requestHeaderTimeoutMs: 1_000 });
  t.dp.apply(
    buildSnapshot({
      hosts: [{ hostname: 'fuzz.test', routes: [{ path: '/', backend: 'app' }] }],
      backends: [{ id: 'app', endpoints: [b0.port, b1.port], affinity: {}, retries: 1 }],
    }),
  );
});

after(async () => {
  await t.close();
  await closeAll([b0, b1]);
});

test(`front-side fuzz: ${CASES} hostile requests from ${CONNECTIONS} connections, seed ${SEED}`, async () => {
  const port = t.dp.ports.http;
  const first = await request({ port, host: 'fuzz.test' });
  assert.equal(first.status, 200);
  const cookie = String(first.headers['set-cookie']).split(';')[0] as string;
  const pinned = first.headers['x-backend-id'];

  const r = seeded(SEED);
  const deadline = Date.now() + TIME_CAP_MS;
  let next = 0;
  let wellBehaved = 0;
  const failures: string[] = [];
  const worker = async (w: number) => {
    while (next < CASES && Date.now() < deadline) {
      const i = next++;
      await sendCase(port, payload(r), r);
      // Between hostile cases, a well-behaved client with its affinity cookie must keep being served.
      if (w === 0 && i % 25 === 0) {
        const res = await request({ port, host: 'fuzz.test', path: '/ok', headers: { cookie } });
        wellBehaved++;
        if (res.status !== 200 || res.headers['x-backend-id'] !== pinned) {
          failures.push(
            `case ${i}: well-behaved client got ${res.status} from ${res.headers['x-backend-id']}`,
          );
        }
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, w) => worker(w)));

  assert.ok(next > 0 && wellBehaved > 0);
  assert.deepEqual(failures, []);
  for (const e of t.dp.upstreams.endpoints())
    assert.ok(e.healthy && !e.ejected, `endpoint ${e.id} unhealthy`);
  const bad = upgradesSeen.filter((u) => u.method !== 'GET' || u.upgrade.toLowerCase() !== 'websocket');
  assert.deepEqual(bad, [], 'the backend saw an upgrade that is not a WebSocket one');
  const after = await request({ port, host: 'fuzz.test', headers: { cookie } });
  assert.equal(after.status, 200);
  assert.equal(after.headers['x-backend-id'], pinned);
  t.logs.length = 0;
});
