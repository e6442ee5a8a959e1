import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { makeCert } from '../../test/dataplane/helpers/certs.ts';
import { request } from '../../test/dataplane/helpers/client.ts';
import { type NodeRaw, startNodeRaw } from './node-raw.ts';

// Two loopback backends answering with which one they are and what they were sent.
function backend(name: string): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        name,
        xff: req.headers['x-forwarded-for'],
        te: req.headers.te,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'keep-alive': 'timeout=5' });
      res.end(body);
    });
  });
}

describe('node-raw (the floor contestant)', () => {
  const backends = [backend('a'), backend('b')];
  let proxy: NodeRaw;
  let port = 0;

  before(async () => {
    const ports: number[] = [];
    for (const b of backends) {
      await new Promise<void>((resolve) => b.listen(0, '127.0.0.1', resolve));
      ports.push((b.address() as AddressInfo).port);
    }
    const cert = await makeCert(['bench.test']);
    proxy = await startNodeRaw(0, ports, { port: 0, cert: cert.certPem, key: cert.keyPem });
    port = (proxy.server.address() as AddressInfo).port;
  });

  after(async () => {
    await proxy.close();
    for (const b of backends) {
      b.closeAllConnections();
      await new Promise<void>((resolve) => b.close(() => resolve()));
    }
  });

  test('round-robins, appends the peer to X-Forwarded-For, strips hop-by-hop fields both ways', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await request({
        port,
        path: '/x',
        headers: { 'x-forwarded-for': '203.0.113.7', te: 'trailers' },
      });
      assert.equal(r.status, 200);
      // The backend's Keep-Alive (timeout=5) is hop-by-hop: it never reaches the client.
      assert.notEqual(r.headers['keep-alive'], 'timeout=5');
      const got = JSON.parse(r.body) as { name: string; xff: string; te: string | undefined };
      assert.equal(got.xff, '203.0.113.7, 127.0.0.1');
      assert.equal(got.te, undefined);
      seen.push(got.name);
    }
    assert.deepEqual(seen.sort(), ['a', 'a', 'b', 'b']);
  });

  test('streams a request body upstream', async () => {
    const r = await request({
      port,
      path: '/x',
      method: 'POST',
      body: 'hello',
      headers: { 'content-length': '5' },
    });
    assert.equal((JSON.parse(r.body) as { body: string }).body, 'hello');
  });

  test('serves HTTPS with the same handler (the https scenario)', async () => {
    assert.ok(proxy.tlsServer !== undefined);
    const tlsPort = (proxy.tlsServer.address() as AddressInfo).port;
    const { body } = await request({ port: tlsPort, secure: true });
    assert.equal((JSON.parse(body) as { xff: string }).xff, '127.0.0.1');
  });

  test('answers 502 when the upstream is gone', async () => {
    const dead = await startNodeRaw(0, [1]);
    try {
      const r = await request({ port: (dead.server.address() as AddressInfo).port, path: '/x' });
      assert.equal(r.status, 502);
    } finally {
      await dead.close();
    }
  });
});
