import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { AccessLog } from '../../../src/dataplane/observe/access-log.ts';
import { RequestRecord } from '../../../src/dataplane/observe/observer.ts';
import { closeAll, startBackends } from '../helpers/backends.ts';
import { makeCert } from '../helpers/certs.ts';
import { request } from '../helpers/client.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { startObserved } from './harness.ts';

type Line = Record<string, unknown>;

/** A destination collecting the lines written to it, parsed. */
function collector(): { stream: Writable; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Line);
      cb();
    },
  });
  return { stream, lines };
}

async function setup(accessLog: ConstructorParameters<typeof AccessLog>[0]) {
  const backends = await startBackends(1);
  const cert = await makeCert(['app.test']);
  const o = await startObserved({ accessLog });
  o.dp.apply(
    buildSnapshot({
      hosts: [
        {
          hostname: 'app.test',
          tls: 'default/app',
          routes: [{ backend: 'app', redirect: { sslRedirect: false } }],
        },
      ],
      backends: [{ id: 'app', endpoints: [backends[0]!.port] }],
      certificates: [{ id: 'default/app', ...cert }],
    }),
  );
  return {
    o,
    endpoint: `127.0.0.1:${backends[0]!.port}`,
    close: async () => {
      await o.close();
      await closeAll(backends);
    },
  };
}

describe('access log', () => {
  test('one JSON line per request and per closed tunnel, written to a file asynchronously', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'access-log-'));
    const file = join(dir, 'access.log');
    const { o, endpoint, close } = await setup({ destination: file });
    try {
      assert.equal(
        (await request({ port: o.dp.ports.http, host: 'app.test', path: '/x?token=secret' })).status,
        200,
      );
      const tls = await request({
        port: o.dp.ports.https,
        secure: true,
        host: 'app.test',
        path: '/y',
        method: 'POST',
        body: 'hello',
      });
      assert.equal(tls.status, 200);
      const ws = new WebSocket(`ws://127.0.0.1:${o.dp.ports.http}/ws?sid=1`, {
        headers: { host: 'app.test' },
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.close();
      await new Promise<void>((resolve) => ws.once('close', () => resolve()));
    } finally {
      await close();
    }
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    await rm(dir, { recursive: true });
    assert.equal(lines.length, 3);
    const [plain, secure, tunnel] = lines as [Line, Line, Line];
    assert.equal(plain.log, 'access');
    assert.equal(plain.client, '127.0.0.1');
    assert.match(String(plain.time), /^\d{4}-\d\d-\d\dT/);
    assert.equal(plain.host, 'app.test');
    assert.equal(plain.method, 'GET');
    assert.equal(plain.path, '/x');
    assert.doesNotMatch(JSON.stringify(lines), /secret/);
    assert.equal(plain.status, 200);
    assert.equal(plain.backend, 'app');
    assert.equal(plain.endpoint, endpoint);
    assert.equal(plain.source, 'default/ing-app.test');
    assert.equal(plain.affinity, 'none');
    assert.equal(plain.retries, 0);
    assert.equal(plain.tls, '');
    assert.equal(plain.tunnel, false);
    assert.ok((plain.bytesOut as number) > 0);
    for (const k of ['connectMs', 'responseMs', 'totalMs']) assert.ok((plain[k] as number) >= 0, k);
    assert.ok((plain.totalMs as number) >= (plain.responseMs as number));
    assert.equal(secure.method, 'POST');
    assert.equal(secure.bytesIn, 5);
    assert.match(String(secure.tls), /^TLSv1\.[23]$/);
    assert.equal(secure.sni, 'app.test');
    assert.equal(tunnel.tunnel, true);
    assert.equal(tunnel.status, 101);
    assert.equal(tunnel.path, '/ws');
  });

  test('sampling logs the chosen fraction', async () => {
    const { stream, lines } = collector();
    let n = 0;
    // Alternates 0.25 and 0.75: with sample 0.5 exactly every other request is kept.
    const { o, close } = await setup({
      destination: stream,
      sample: 0.5,
      random: () => (n++ % 2 === 0 ? 0.25 : 0.75),
    });
    try {
      for (let i = 0; i < 10; i++)
        await request({ port: o.dp.ports.http, host: 'app.test', path: `/s/${i}` });
    } finally {
      await close();
    }
    assert.deepEqual(
      lines.map((l) => l.path),
      ['/s/0', '/s/2', '/s/4', '/s/6', '/s/8'],
    );
  });

  test('off, and sample 0, write nothing', async () => {
    for (const options of [{ enabled: false }, { sample: 0 }]) {
      const { stream, lines } = collector();
      const { o, close } = await setup({ ...options, destination: stream });
      try {
        assert.equal(o.obs.accessLog?.enabled, false);
        assert.equal((await request({ port: o.dp.ports.http, host: 'app.test', path: '/' })).status, 200);
        // The metrics saw the request, so the observer ran; only the log stayed silent.
        assert.match(await o.metrics(), /sticky_ingress_requests_total\{[^}]*status_class="2xx"\} 1/);
      } finally {
        await close();
      }
      assert.equal(lines.length, 0);
    }
  });

  test('every line carries its own values when requests alternate between hosts, routes and sources', () => {
    const { stream, lines } = collector();
    const log = new AccessLog({ destination: stream });
    // Two kinds of request, interleaved; one of them with values JSON must escape (a quote, a control).
    const kinds = [
      { host: 'a.test', method: 'GET', routeId: 'r/a', backendId: 'b/a', endpointId: '10.0.0.1:80' },
      { host: 'b"\u0001.test', method: 'POST', routeId: 'r/"b"', backendId: '', endpointId: '' },
    ];
    const sources = [
      ['default', 'app'],
      ['other', ''],
      ['other', 'app\\x'],
    ] as const;
    const expected: Line[] = [];
    for (let i = 0; i < 12; i++) {
      const r = new RequestRecord();
      Object.assign(r, kinds[i % 2], {
        path: `/${i}`,
        status: 200 + i,
        tlsVersion: i % 3 === 0 ? 'TLSv1.3' : '',
      });
      const [ns, name] = sources[i % 3] as readonly [string, string];
      r.sourceNamespace = ns;
      r.sourceName = name;
      r.sni = i % 4 === 0 ? 'a.test' : '';
      log.write(r);
      const k = kinds[i % 2] as (typeof kinds)[number];
      expected.push({
        host: k.host,
        method: k.method,
        route: k.routeId,
        backend: k.backendId,
        endpoint: k.endpointId,
        source: name === '' ? '' : `${ns}/${name}`,
        tls: r.tlsVersion,
        sni: r.sni,
        path: `/${i}`,
      });
    }
    log.flushSync();
    assert.equal(lines.length, 12);
    const seen = lines.map((l) => ({
      host: l.host,
      method: l.method,
      route: l.route,
      backend: l.backend,
      endpoint: l.endpoint,
      source: l.source,
      tls: l.tls,
      sni: l.sni,
      path: l.path,
    }));
    assert.deepEqual(seen, expected);
  });

  test('a sample outside 0..1 is rejected at construction', () => {
    for (const sample of [-0.1, 1.5, Number.NaN]) {
      assert.throws(() => new AccessLog({ sample }), { code: 'STICKY_ERR_OPTION_INVALID' });
    }
  });
});
