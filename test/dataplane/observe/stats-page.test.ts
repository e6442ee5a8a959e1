import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { closeAll, startBackends } from '../helpers/backends.ts';
import { CHROMIUM, QUIET } from '../helpers/browser.ts';
import { request } from '../helpers/client.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';
import { startObserved } from './harness.ts';

test('Chromium: chromium from Debian is installed (CI: apt-get install chromium)', () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install -y chromium`);
});

test('Chromium: /stats shows a live endpoint and its counts move after traffic', async () => {
  const backends = await startBackends(2);
  const o = await startObserved();
  const profile = await mkdtemp(join(tmpdir(), 'stats-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: QUIET });
  try {
    o.dp.apply(
      buildSnapshot({
        hosts: [
          {
            hostname: 'chat.example.test',
            routes: [{ backend: 'chat', path: '/socket.io/' }, { backend: 'chat' }],
          },
        ],
        backends: [{ id: 'chat', endpoints: backends.map((b) => b.port), affinity: {} }],
      }),
    );
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text());
    });
    await page.goto(`http://127.0.0.1:${o.admin.port}/stats`);
    const endpointId = `127.0.0.1:${backends[0]!.port}`;
    const row = `tr[data-kind="endpoint"][data-id="${endpointId}"]`;
    assert.equal(await page.textContent(`${row} td[data-field="state"]`), 'UP');
    assert.equal(await page.textContent(`${row} td[data-field="requests"]`), '0');

    for (let i = 0; i < 10; i++) {
      const res = await request({ port: o.dp.ports.http, host: 'chat.example.test', path: `/room/${i}` });
      assert.equal(res.status, 200);
    }
    // Round-robin over two endpoints: 5 each. Waits for the page's own 2 s refresh, not a sleep.
    await page.locator(`${row} td[data-field="requests"]`, { hasText: /^5$/ }).waitFor({ timeout: 20_000 });
    assert.equal(
      await page.textContent('tr[data-kind="backend"][data-id="chat"] td[data-field="requests"]'),
      '10',
    );
    assert.equal(await page.textContent('[data-total="requests"]'), '10');
    assert.equal(await page.textContent(`${row} td[data-field="stickyIssued"]`), '5');
    assert.doesNotMatch((await page.textContent('#refresh')) ?? '', /failed/);
    assert.deepEqual(problems, []);

    await mkdir('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/stats-page.png', fullPage: true });
    assert.ok((await stat('test-artifacts/stats-page.png')).size > 1000);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
    await o.close();
    await closeAll(backends);
  }
});
