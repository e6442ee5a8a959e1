import assert from 'node:assert/strict';
import { createServer as createHttpServer, request } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type RawProxy, startRawProxy } from './raw-proxy.ts';

/** A backend speaking raw bytes: `reply(head, socket)` writes whatever the case needs. */
function rawBackend(reply: (head: string, socket: Socket, n: number) => void): Promise<Server> {
  const server = createNetServer((socket) => {
    let buf = '';
    let n = 0;
    socket.on('data', (c) => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      reply(head, socket, ++n);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function port(s: { address(): unknown }): number {
  return (s.address() as AddressInfo).port;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(p: number, path: string, o: { method?: string; body?: Buffer; chunked?: boolean } = {}) {
  return new Promise<Reply>((resolve, reject) => {
    const headers: Record<string, string> = o.chunked ? { 'transfer-encoding': 'chunked' } : {};
    const req = request({ host: '127.0.0.1', port: p, path, method: o.method ?? 'GET', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (o.body !== undefined && o.chunked) {
      req.write(o.body.subarray(0, 10));
      req.end(o.body.subarray(10));
    } else req.end(o.body);
  });
}

for (const front of ['res', 'socket'] as const)
  describe(`raw proxy prototype, --front ${front}`, () => {
    const big = Buffer.alloc(1024 * 1024, 'abcdefgh');
    let echo: ReturnType<typeof createHttpServer>;
    let raw: Server;
    let echoProxy: RawProxy;
    let rawProxy: RawProxy;
    let rawConnections = 0;
    let echoConnections = 0;

    before(async () => {
      echo = createHttpServer((req, res) => {
        const parts: Buffer[] = [];
        req.on('data', (c: Buffer) => parts.push(c));
        req.on('end', () => {
          const body = Buffer.concat(parts);
          if (req.url === '/big') res.end(big);
          else if (req.url === '/chunked') {
            res.write('hello ');
            setImmediate(() => res.end('world'));
          } else {
            res.setHeader('x-seen', JSON.stringify({ ...req.headers, body: body.length }));
            res.end(body);
          }
        });
      });
      echo.keepAliveTimeout = 60_000;
      await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
      raw = await rawBackend((head, socket, n) => {
        const path = head.split(' ')[1];
        if (path === '/cl-te')
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
        else if (path === '/bad-cl') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nabc');
        else if (path === '/two-cl') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab');
        else if (path === '/until-close') socket.end('HTTP/1.1 200 OK\r\n\r\nall of it');
        else if (path === '/continue')
          socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else if (path === '/chunk-ext')
          socket.write(
            'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n',
          );
        else if (path === '/bare-lf')
          socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n');
        else if (path === '/race' && n > 1)
          socket.destroy(); // a keep-alive close racing the request
        else if (path === '/race') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else if (path === '/stale')
          socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'); // closes after
        else socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      });
      raw.on('connection', () => rawConnections++);
      echo.on('connection', () => echoConnections++);
      echoProxy = await startRawProxy(0, [port(echo)], front);
      rawProxy = await startRawProxy(0, [port(raw)], front);
    });

    after(async () => {
      await echoProxy.close();
      await rawProxy.close();
      echo.closeAllConnections();
      echo.close();
      raw.close();
    });

    test('forwards request headers, X-Forwarded-For, and strips hop-by-hop fields', async () => {
      const r = await get(port(echoProxy.server), '/h');
      assert.equal(r.status, 200);
      const seen = JSON.parse(r.headers['x-seen'] as string);
      assert.equal(seen['x-forwarded-for'], '127.0.0.1');
      assert.equal(seen.connection, undefined);
    });

    test('relays a chunked response decoded and a 1 MiB Content-Length body intact', async () => {
      const c = await get(port(echoProxy.server), '/chunked');
      assert.equal(c.body.toString(), 'hello world');
      const b = await get(port(echoProxy.server), '/big');
      assert.equal(b.headers['content-length'], String(big.length));
      assert.ok(b.body.equals(big));
    });

    test('streams POST bodies with Content-Length and chunked framing', async () => {
      const body = Buffer.alloc(300_000, 'p');
      const cl = await get(port(echoProxy.server), '/post', { method: 'POST', body });
      assert.ok(cl.body.equals(body));
      const ch = await get(port(echoProxy.server), '/post', { method: 'POST', body, chunked: true });
      assert.ok(ch.body.equals(body));
      assert.equal(JSON.parse(ch.headers['x-seen'] as string)['transfer-encoding'], 'chunked');
    });

    test('refuses ambiguous framing with 502', async () => {
      for (const path of ['/cl-te', '/bad-cl', '/two-cl']) {
        assert.equal((await get(port(rawProxy.server), path)).status, 502, path);
      }
    });

    test('aborts the client response when the chunked framing breaks after the head was sent', async () => {
      await assert.rejects(get(port(rawProxy.server), '/bare-lf'), { code: 'ECONNRESET' });
    });

    test('reads until close, drops 1xx, validates chunk extensions and trailers', async () => {
      assert.equal((await get(port(rawProxy.server), '/until-close')).body.toString(), 'all of it');
      assert.equal((await get(port(rawProxy.server), '/continue')).body.toString(), 'ok');
      assert.equal((await get(port(rawProxy.server), '/chunk-ext')).body.toString(), 'abc');
    });

    test('does not reuse a connection the upstream closed', async () => {
      assert.equal((await get(port(rawProxy.server), '/stale')).status, 200);
      const before = rawConnections;
      assert.equal((await get(port(rawProxy.server), '/chunk-ext')).status, 200);
      assert.equal(rawConnections, before + 1);
    });

    test('replays a GET on a fresh connection when a reused one dies unanswered, never a POST', async () => {
      assert.equal((await get(port(rawProxy.server), '/race')).body.toString(), 'ok');
      const before = rawConnections;
      assert.equal((await get(port(rawProxy.server), '/race')).body.toString(), 'ok');
      assert.equal(rawConnections, before + 1);
      const post = await get(port(rawProxy.server), '/race', { method: 'POST', body: Buffer.from('x') });
      assert.equal(post.status, 502);
    });

    test('keeps connections alive across sequential requests', async () => {
      await get(port(echoProxy.server), '/h');
      const before = echoConnections;
      for (let i = 0; i < 5; i++) await get(port(echoProxy.server), '/h');
      assert.equal(echoConnections, before);
    });
  });
