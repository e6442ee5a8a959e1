import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseIngressAnnotations } from '../../../src/controller/annotations/index.ts';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { closed, echo, openWebSocket } from '../helpers/ws.ts';
import { ingressSnapshot, nginx } from './ingress-support.ts';

// Re-expressed from ingress-nginx test/e2e/annotations/upstreamvhost.go and limitconnections.go, black-box
// through the dataplane, for WebSocket upgrades as well as plain requests.
describe('upstream-vhost, and limit-* on WebSocket upgrades', () => {
  let web: TestBackend;
  let t: TestDataplane;
  const ws = (host: string) => openWebSocket(`ws://127.0.0.1:${t.dp.ports.http}/chat`, host);

  before(async () => {
    web = await startBackend('web');
    t = await startDataplane();
    const ing = (name: string, host: string, annotations: Record<string, string>) => ({
      name,
      host,
      annotations: nginx(annotations),
      paths: [{ path: '/', service: 'web' }],
    });
    t.dp.apply(
      ingressSnapshot(
        [
          ing('vhost', 'upstreamvhost.foo.com', { 'upstream-vhost': 'upstreamvhost.bar.com' }),
          // A minute-based limit: no refill can happen during the test, however slow the machine.
          ing('rpm', 'rpm.test', { 'limit-rpm': '1', 'limit-burst-multiplier': '1' }),
          ing('conn', 'conn.test', { 'limit-connections': '1' }),
        ],
        { web: web.port },
      ),
    );
  });
  after(async () => {
    await t.close();
    await closeAll([web]);
  });

  test('mirrors "set host to upstreamvhost.bar.com": the backend gets that Host, for requests and upgrades', async () => {
    const res = json(await request({ port: t.dp.ports.http, host: 'upstreamvhost.foo.com', path: '/' }));
    assert.equal(res.headers.host, 'upstreamvhost.bar.com');
    assert.equal(res.headers['x-forwarded-host'], 'upstreamvhost.foo.com', 'the client Host stays visible');
    const { ws: socket } = await ws('upstreamvhost.foo.com');
    try {
      assert.equal(web.seen.at(-1)?.headers.host, 'upstreamvhost.bar.com');
    } finally {
      socket.terminate();
    }
  });

  test('upstream-vhost with an NGINX variable or a header injection refuses the Ingress', () => {
    for (const value of ['$host', 'a.com\r\nx: y', 'a b']) {
      const { config } = parseIngressAnnotations(nginx({ 'upstream-vhost': value }));
      assert.equal(config.refused, true, value);
    }
  });

  test('mirrors "should limit-connections" for upgrades: an open tunnel holds the one connection, the next upgrade gets 503', async () => {
    const { ws: first } = await ws('conn.test');
    try {
      assert.equal(await echo(first, 'a'), 'web:a');
      const before = web.seen.length;
      await assert.rejects(ws('conn.test'), /unexpected response 503/);
      assert.equal(web.seen.length, before, 'the refused upgrade never reached the backend');
    } finally {
      first.terminate();
    }
  });

  test('an upgrade over limit-rpm gets 503, and upgrades and requests draw on one budget', async () => {
    const { ws: first } = await ws('rpm.test');
    first.close();
    await closed(first);
    await assert.rejects(ws('rpm.test'), /unexpected response 503/);
    assert.equal((await request({ port: t.dp.ports.http, host: 'rpm.test', path: '/' })).status, 503);
  });
});
