import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = ['cmd/sticky-ingress.ts'];

test('the documented standalone example validates with no diagnostics', async () => {
  const { stdout } = await run(process.execPath, [...cli, 'check', 'examples/standalone']);
  assert.match(stdout, /^ok: 1 files, 5 objects: 1 hosts, 2 routes, 2 backends$/m);
});

test('explain on the documented example picks the sticky least-conn route for /socket.io/', async () => {
  const { stdout } = await run(process.execPath, [
    ...cli,
    'explain',
    'examples/standalone',
    '--url',
    'http://chat.localhost/socket.io/?EIO=4&transport=polling',
  ]);
  assert.match(stdout, /^route: Ingress\/default\/chat-socketio\/0\/0 path \/socket\.io\/ \(Prefix\)/m);
  assert.match(stdout, /policy least-conn affinity cookie CHAT \(balanced\), 2 endpoints/);
  assert.match(stdout, /^set-cookie: CHAT=[A-Za-z0-9_-]+; Path=\/socket\.io; HttpOnly$/m);
});

test('the Gateway API example validates, and explain shows its sessionPersistence cookie and redirect', async () => {
  const { stdout } = await run(process.execPath, [...cli, 'check', 'examples/gateway-api']);
  assert.match(stdout, /^ok: 1 files, 7 objects: 1 hosts, 3 routes/m);
  const io = await run(process.execPath, [
    ...cli,
    'explain',
    'examples/gateway-api',
    '--url',
    'http://chat.localhost/socket.io/?EIO=4',
  ]);
  assert.match(
    io.stdout,
    /^route: HTTPRoute\/default\/chat\/0\/0@chat\.localhost path \/socket\.io\/ \(Prefix\)/m,
  );
  assert.match(io.stdout, /^set-cookie: CHAT=[A-Za-z0-9_-]+; Path=\/; HttpOnly$/m);
  const login = await run(process.execPath, [
    ...cli,
    'explain',
    'examples/gateway-api',
    '--url',
    'http://chat.localhost/login',
  ]);
  assert.match(login.stdout, /^would redirect 301 to https:\/\/chat\.localhost\/login$/m);
});

test('convert writes the documented example as Gateway API objects and lists what it cannot carry', async () => {
  const { stdout, stderr } = await run(process.execPath, [...cli, 'convert', 'examples/standalone']);
  assert.match(stdout, /^kind: Gateway$/m);
  assert.match(stdout, /^kind: HTTPRoute$/m);
  assert.match(
    stdout,
    /sessionPersistence:\n\s+type: Cookie\n\s+cookie:\n\s+name: CHAT\n\s+path: \/socket\.io\n\s+lifetimeType: Session/,
  );
  assert.match(
    stderr,
    /^not carried: Ingress default\/chat-socketio metadata\.annotations: load-balance least-conn/m,
  );
});

test('the documented migration example validates, with its per-Ingress migration report', async () => {
  const { stdout } = await run(process.execPath, [...cli, 'check', 'examples/migration']);
  assert.match(stdout, /^migration Ingress default\/shop: differs$/m);
  assert.match(stdout, /^migration Ingress default\/shop-canary: same$/m);
  assert.match(stdout, /^ok: 1 files, 6 objects: 1 hosts, 1 routes, 2 backends$/m);
});
