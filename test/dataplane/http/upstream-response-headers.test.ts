import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

/** A raw upstream that answers every request with exactly `head` + body "ok" (bytes node:http would not write). */
async function rawUpstream(head: string): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        socket.write(`${head}content-length: 2\r\n\r\nok`);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

describe('hop-by-hop headers of upstream responses', () => {
  let t: TestDataplane;
  const upstreams: Server[] = [];
  const heads: Record<string, string> = {
    'dup-connection.test':
      'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: x-secret\r\nx-secret: 1\r\n',
    'dup-keepalive.test': 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nKeep-Alive: max=100\r\n',
    'dup-mixed.test':
      'HTTP/1.1 200 OK\r\nconnection: x-a\r\nConnection: X-B, keep-alive\r\nx-a: 1\r\nx-b: 2\r\n',
  };

  before(async () => {
    t = await startDataplane();
    const hosts = [];
    const backends = [];
    for (const [hostname, head] of Object.entries(heads)) {
      const up = await rawUpstream(head);
      upstreams.push(up.server);
      hosts.push({ hostname, routes: [{ backend: hostname }] });
      backends.push({ id: hostname, endpoints: [up.port] });
    }
    t.dp.apply(buildSnapshot({ hosts, backends }));
  });
  after(async () => {
    await t.close();
    for (const s of upstreams) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  for (const host of Object.keys(heads)) {
    test(`${host}: the client gets the response, without the connection-nominated headers`, async () => {
      const res = await request({ port: t.dp.ports.http, host });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'ok');
      assert.equal(res.headers['x-secret'], undefined);
      assert.equal(res.headers['x-a'], undefined);
      assert.equal(res.headers['x-b'], undefined);
      assert.equal(res.headers['keep-alive'], undefined);
      // The proxy is still serving.
      assert.equal((await request({ port: t.dp.ports.http, host })).status, 200);
    });
  }
});
