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

test('the documented migration example validates, with its per-Ingress migration report', async () => {
  const { stdout } = await run(process.execPath, [...cli, 'check', 'examples/migration']);
  assert.match(stdout, /^migration Ingress default\/shop: differs$/m);
  assert.match(stdout, /^migration Ingress default\/shop-canary: same$/m);
  assert.match(stdout, /^ok: 1 files, 6 objects: 1 hosts, 1 routes, 2 backends$/m);
});
