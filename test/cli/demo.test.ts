import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { CliProcess } from './helpers.ts';

const demo = fileURLToPath(new URL('../../scripts/demo.ts', import.meta.url));

function get(url: string, ca: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** Connects a socket.io client and resolves with the backend named in its hello, once `transport` is in use. */
function connect(url: string, ca: string, transports: ('polling' | 'websocket')[], upgradeTo?: 'websocket') {
  // withCredentials: the Node client keeps the affinity cookie in a jar, as a browser would.
  const socket: Socket = io(url, {
    transports,
    ca,
    withCredentials: true,
    reconnection: false,
    timeout: 10_000,
  });
  const ready = new Promise<string>((resolve, reject) => {
    let backend: string | undefined;
    let upgraded = upgradeTo === undefined;
    const maybe = () => backend !== undefined && upgraded && resolve(backend);
    socket.on('hello', (m: { backend: string }) => {
      backend = m.backend;
      maybe();
    });
    socket.io.engine.on('upgrade', (t: { name: string }) => {
      upgraded = t.name === upgradeTo;
      maybe();
    });
    socket.on('connect_error', reject);
  });
  return { socket, ready };
}

test('npm run demo: ready, page over HTTPS, socket.io sticky through it (polling -> websocket), chat across backends, clean stop', {
  timeout: 60_000,
}, async (t) => {
  const p = new CliProcess([demo], { DEMO_HTTP_PORT: '0', DEMO_HTTPS_PORT: '0', DEMO_ADMIN_PORT: '0' });
  t.after(() => p.kill());
  const banner = await p.waitFor(
    () => (/Ctrl-C stops everything/.test(p.stdout) ? p.stdout : undefined),
    'banner',
    60_000,
  );
  const url = /open\s+(https:\/\/localhost:\d+\/)/.exec(banner)?.[1];
  const caFile = /ca\s+(\S+\.pem)/.exec(banner)?.[1];
  const admin = /admin (http:\/\/127\.0\.0\.1:\d+)\/readyz/.exec(banner)?.[1];
  assert.ok(url && caFile && admin, banner);
  const ca = await readFile(caFile, 'utf8');

  const page = await get(url, ca);
  assert.equal(page.status, 200);
  assert.match(page.body, /served by <span class="tag">backend-\d<\/span>/);

  const polling = connect(url, ca, ['polling', 'websocket'], 'websocket');
  t.after(() => polling.socket.close());
  const pollingBackend = await polling.ready;
  const ws = connect(url, ca, ['websocket']);
  t.after(() => ws.socket.close());
  const wsBackend = await ws.ready;
  // least-conn with one open session elsewhere: the second client lands on another backend.
  assert.notEqual(wsBackend, pollingBackend);

  const received = new Promise<{ from: string; via: string; text: string }>((resolve) =>
    ws.socket.on('chat', (m: { from: string; via: string; text: string }) => resolve(m)),
  );
  polling.socket.emit('chat', 'hello across backends');
  const msg = await received;
  assert.equal(msg.text, 'hello across backends');
  assert.equal(msg.via, wsBackend);
  assert.match(msg.from, new RegExp(`^${pollingBackend}#`));

  polling.socket.close();
  ws.socket.close();
  p.child.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
