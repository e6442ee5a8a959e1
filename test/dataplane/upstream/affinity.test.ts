import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

function cookieOf(setCookie: string[] | undefined): string | undefined {
  return setCookie?.find((c) => c.startsWith('route='))?.split(';')[0];
}

describe('cookie affinity through the proxy', () => {
  let backends: TestBackend[];
  let t: TestDataplane;
  let t2: TestDataplane;
  let version = 1;

  const apply = (dp: TestDataplane, ports: number[]) =>
    dp.dp.apply(
      buildSnapshot(
        {
          hosts: [{ hostname: 'sticky.test', routes: [{ backend: 'chat' }] }],
          backends: [{ id: 'chat', endpoints: ports, affinity: {} }],
        },
        version++,
      ),
    );

  before(async () => {
    backends = await startBackends(3);
    [t, t2] = await Promise.all([startDataplane(), startDataplane()]);
    apply(
      t,
      backends.map((b) => b.port),
    );
    apply(
      t2,
      backends.map((b) => b.port),
    );
  });
  after(async () => {
    await Promise.all([t.close(), t2.close()]);
    await closeAll(backends);
  });

  test('first response sets the cookie; it pins later requests; it holds no address', async () => {
    const first = await request({ port: t.dp.ports.http, host: 'sticky.test' });
    const cookie = cookieOf(first.headers['set-cookie']);
    assert.ok(cookie, 'Set-Cookie route=...');
    // An opaque token: base64url only (no dots or colons, so no address or host:port can hide in it), and
    // none of the endpoints' ports. (Backend ids like `b5` are not checked: random base64 contains them.)
    assert.match(cookie, /^route=[A-Za-z0-9_-]{16,32}$/);
    for (const b of backends) assert.ok(!cookie.includes(String(b.port)), `port ${b.port} in ${cookie}`);
    const pinned = json(first).id;
    for (let i = 0; i < 6; i++) {
      const res = await request({ port: t.dp.ports.http, host: 'sticky.test', headers: { cookie } });
      assert.equal(json(res).id, pinned);
      assert.equal(res.headers['set-cookie'], undefined);
    }
  });

  test('two dataplanes with the same key issue the same cookie and honour each other', async () => {
    const a = await request({ port: t.dp.ports.http, host: 'sticky.test' });
    const cookie = cookieOf(a.headers['set-cookie']);
    const b = await request({
      port: t2.dp.ports.http,
      host: 'sticky.test',
      headers: { cookie: `x=1; ${cookie}` },
    });
    assert.equal(json(b).id, json(a).id);
    const values = new Map<string, string>();
    for (let i = 0; i < 6; i++) {
      for (const dp of [t, t2]) {
        const res = await request({ port: dp.dp.ports.http, host: 'sticky.test' });
        const c = cookieOf(res.headers['set-cookie']) as string;
        const id = json(res).id;
        assert.equal(values.get(id) ?? c, c, `same endpoint ${id}, same cookie on both instances`);
        values.set(id, c);
      }
    }
    assert.equal(values.size, 3);
  });

  test('the cookie is re-issued when its endpoint leaves the snapshot', async () => {
    const first = await request({ port: t.dp.ports.http, host: 'sticky.test' });
    const cookie = cookieOf(first.headers['set-cookie']) as string;
    const gone = json(first).id;
    const remaining = backends.filter((b) => b.id !== gone).map((b) => b.port);
    apply(t, remaining);
    const res = await request({ port: t.dp.ports.http, host: 'sticky.test', headers: { cookie } });
    assert.notEqual(json(res).id, gone);
    const fresh = cookieOf(res.headers['set-cookie']);
    assert.ok(fresh && fresh !== cookie, 'a new cookie for the new endpoint');
    apply(
      t,
      backends.map((b) => b.port),
    );
  });

  test('the 101 Switching Protocols of a WebSocket carries the cookie and the tunnel echoes', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.dp.ports.http}/ws`, { headers: { host: 'sticky.test' } });
    const upgrade = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      let res: import('node:http').IncomingMessage | undefined;
      ws.once('upgrade', (r) => {
        res = r;
      });
      ws.once('open', () => resolve(res as import('node:http').IncomingMessage));
      ws.once('error', reject);
    });
    const cookie = cookieOf(upgrade.headers['set-cookie']);
    assert.ok(cookie);
    const backendId = upgrade.headers['x-backend-id'];
    ws.send('hi');
    const [reply] = await new Promise<[Buffer]>((resolve) => ws.once('message', (d: Buffer) => resolve([d])));
    assert.equal(reply.toString(), `${backendId}:hi`);
    ws.close();
    // A plain request with that cookie lands where the WebSocket went.
    const res = await request({ port: t.dp.ports.http, host: 'sticky.test', headers: { cookie } });
    assert.equal(json(res).id, backendId);
  });
});
