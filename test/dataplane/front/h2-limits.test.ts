import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import {
  FLAG,
  FRAME,
  frame,
  getBlock,
  h2Request,
  h2Session,
  literal,
  PREFACE,
  type RawH2,
  rawH2,
} from '../helpers/h2.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { sample, startObserved } from '../observe/harness.ts';

/** RFC 9113 7 error codes the assertions name. */
const PROTOCOL_ERROR = 0x1;
const ENHANCE_YOUR_CALM = 0xb;

/**
 * Each attack runs on a real listener from a hand-built h2 client while a well-behaved h2 client makes VICTIM
 * requests on its own connection: the attacker must be cut off and every victim request answered.
 */
const VICTIM = 20;

describe('HTTP/2 limits under attack (--http2)', () => {
  let backends: TestBackend[];
  let t: TestDataplane;
  let victim: ClientHttp2Session;
  /** Reasons of the connections the proxy ended itself (what sticky_ingress_h2_connections_closed_total counts). */
  const ended: string[] = [];
  const seen = () => backends.reduce((n, b) => n + b.seen.length, 0);

  before(async () => {
    backends = await startBackends(1);
    t = await startDataplane({
      http2: true,
      observer: { onRequest() {}, onTunnelClose() {}, onH2Closed: (reason) => ended.push(reason) },
    });
    t.dp.apply(
      buildSnapshot({
        hosts: [{ hostname: 'app.test', tls: true, routes: [{ backend: 'web' }] }],
        backends: [{ id: 'web', endpoints: backends.map((b) => b.port) }],
      }),
    );
    victim = await h2Session(t.dp.ports.https, 'app.test');
  });
  after(async () => {
    victim.destroy();
    await t.close();
    await closeAll(backends);
  });

  /** VICTIM sequential requests on the well-behaved connection; resolves to how many got a 200. */
  async function served(): Promise<number> {
    let ok = 0;
    for (let i = 0; i < VICTIM; i++) {
      const res = await h2Request(victim, { ':path': `/victim/${i}`, ':authority': 'app.test' });
      if (res.status === 200) ok++;
    }
    return ok;
  }

  /** Opens an attacker, writes `frames` after the preface (paused: the attacker reads nothing meanwhile). */
  async function attack(frames: Iterable<Buffer>, paused = false): Promise<RawH2> {
    const raw = await rawH2(t.dp.ports.https, 'app.test');
    if (paused) raw.socket.pause();
    raw.socket.write(PREFACE);
    let last: Promise<void> = Promise.resolve();
    for (const f of frames) {
      if (raw.socket.destroyed) break;
      last = new Promise((r) => raw.socket.write(f, () => r()));
    }
    if (paused) void last.then(() => raw.socket.resume());
    return raw;
  }

  test('max concurrent streams: 128 advertised; streams beyond it are refused, the connection lives', async () => {
    assert.equal(victim.remoteSettings.maxConcurrentStreams, 128);
    // 200 requests whose bodies never come (no END_STREAM): each stays open.
    const raw = await attack(
      Array.from({ length: 200 }, (_, i) =>
        frame(FRAME.HEADERS, FLAG.END_HEADERS, 2 * i + 1, getBlock('app.test')),
      ),
    );
    const ok = await served();
    while (raw.resets < 72 && !raw.socket.destroyed) await new Promise((r) => setTimeout(r, 10));
    assert.equal(raw.resets, 200 - 128);
    assert.equal(ok, VICTIM);
    raw.socket.destroy();
  });

  test('a header list over --max-header-size resets that stream; the connection and others go on', async () => {
    const s = await h2Session(t.dp.ports.https, 'app.test');
    // By path: the previous test's held streams may still reach the backend meanwhile.
    const hits = (url: string) =>
      backends.reduce((n, b) => n + b.seen.filter((r) => r.url === url).length, 0);
    await assert.rejects(
      h2Request(s, { ':path': '/big', ':authority': 'app.test', 'x-big': 'a'.repeat(17_000) }),
      /NGHTTP2_ENHANCE_YOUR_CALM/,
    );
    assert.equal((await h2Request(s, { ':path': '/small', ':authority': 'app.test' })).status, 200);
    assert.equal(hits('/big'), 0);
    assert.equal(hits('/small'), 1);
    assert.equal(await served(), VICTIM);
    s.destroy();
  });

  test('rapid reset (CVE-2023-44487): HEADERS + RST_STREAM pairs end in GOAWAY ENHANCE_YOUR_CALM', async () => {
    const before = seen();
    const pairs = 3_000;
    const raw = await attack(
      (function* () {
        for (let i = 0; i < pairs; i++) {
          const id = 2 * i + 1;
          yield Buffer.concat([
            frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, getBlock('app.test')),
            frame(FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])),
          ]);
        }
      })(),
    );
    const ok = await served();
    await raw.closed;
    assert.equal(raw.goaway, ENHANCE_YOUR_CALM);
    // Once, and only this attacker: the earlier tests' connections that died with open streams are not resets.
    assert.deepEqual(ended, ['rapid_reset']);
    assert.equal(ok, VICTIM);
    // The cancelled streams cost at most the allowance in upstream requests, never one per pair.
    assert.ok(seen() - before - VICTIM <= 101, `${seen() - before - VICTIM} upstream requests`);
  });

  test('a few cancelled streams are a browser navigating away: the connection stays', async () => {
    const raw = await attack(
      (function* () {
        for (let i = 0; i < 50; i++) {
          const id = 2 * i + 1;
          yield frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, id, getBlock('app.test'));
          yield frame(FRAME.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8]));
        }
        yield frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 101, getBlock('app.test'));
      })(),
    );
    // The request after the cancelled ones is answered (its HEADERS arrive on stream 101).
    while (!raw.types.includes(FRAME.HEADERS) && !raw.socket.destroyed) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(raw.goaway, undefined);
    assert.ok(raw.types.includes(FRAME.HEADERS));
    raw.socket.destroy();
  });

  test('CONTINUATION flood (VU#421644): headers that never end are cut off; others are served', async () => {
    const before = seen();
    const raw = await attack(
      (function* () {
        yield frame(FRAME.HEADERS, 0, 1, getBlock('app.test'));
        for (let i = 0; i < 5_000; i++)
          yield frame(FRAME.CONTINUATION, 0, 1, literal(`x-${i}`, 'b'.repeat(10)));
      })(),
    );
    const ok = await served();
    await raw.closed;
    assert.equal(ok, VICTIM);
    assert.equal(seen() - before, VICTIM, 'the endless header block never became a request');
    assert.ok(raw.goaway === undefined || raw.goaway !== 0, 'closed as an error, not gracefully');
  });

  test('PING flood from a client that does not read: the connection is closed, others are served', async () => {
    const raw = await attack(
      (function* () {
        for (let i = 0; i < 20_000; i++) yield frame(FRAME.PING, 0, 0, Buffer.alloc(8));
      })(),
      true,
    );
    const ok = await served();
    await raw.closed;
    assert.equal(ok, VICTIM);
    assert.ok(raw.types.filter((x) => x === FRAME.PING).length < 20_000, 'not every PING was answered');
  });

  test('SETTINGS flood from a client that does not read: the connection is closed, others are served', async () => {
    const raw = await attack(
      (function* () {
        for (let i = 0; i < 20_000; i++) yield frame(FRAME.SETTINGS, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]));
      })(),
      true,
    );
    const ok = await served();
    await raw.closed;
    assert.equal(ok, VICTIM);
    assert.ok(raw.types.filter((x) => x === FRAME.SETTINGS).length < 20_000, 'not every SETTINGS was acked');
  });

  test('a frame on stream 0 that belongs to a stream is a connection error (PROTOCOL_ERROR)', async () => {
    const raw = await attack([
      frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 0, getBlock('app.test')),
    ]);
    await raw.closed;
    assert.equal(raw.goaway, PROTOCOL_ERROR);
    assert.equal(await served(), VICTIM);
  });
});

/** Resolves with `p`, or fails the test after `ms` (a bound on waiting, not a speed assertion). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, bound]);
  } finally {
    clearTimeout(timer);
  }
}

describe('HTTP/2 connection preface timeout (--http2)', () => {
  test('a client that negotiates h2 and sends nothing (or half a preface) is closed and counted; one that sent its preface stays', async () => {
    const backends = await startBackends(1);
    // The idle timeout is far away: only the preface bound (--request-header-timeout) can close the silent ones.
    const o = await startObserved({
      dataplane: { http2: true, requestHeaderTimeoutMs: 1_000, keepAliveTimeoutMs: 120_000 },
    });
    const polite = await h2Session(o.dp.ports.https, 'app.test');
    try {
      o.dp.apply(
        buildSnapshot({
          hosts: [{ hostname: 'app.test', tls: true, routes: [{ backend: 'web' }] }],
          backends: [{ id: 'web', endpoints: backends.map((b) => b.port) }],
        }),
      );
      const silent = await rawH2(o.dp.ports.https, 'app.test');
      const halfway = await rawH2(o.dp.ports.https, 'app.test');
      // RFC 9113 3.4: the magic string, then a SETTINGS frame that never comes.
      halfway.socket.write(PREFACE.subarray(0, 24));
      await within(Promise.all([silent.closed, halfway.closed]), 30_000, 'silent clients closed');
      assert.equal(polite.closed || polite.destroyed, false, 'the client that sent its preface is kept');
      assert.equal((await h2Request(polite, { ':path': '/', ':authority': 'app.test' })).status, 200);
      const series = 'sticky_ingress_h2_connections_closed_total';
      const metrics = await o.metrics();
      assert.equal(sample(metrics, `${series}{reason="preface_timeout"}`), 2);
      assert.equal(sample(metrics, `${series}{reason="rapid_reset"}`), 0);
    } finally {
      polite.destroy();
      await o.close();
      await closeAll(backends);
    }
  });
});
