import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RateLimiters } from '../../../src/dataplane/routing/rate-limits.ts';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { ingressSnapshot, nginx } from './ingress-support.ts';

// Re-expressed from ingress-nginx's rate-limiting documentation and test/e2e/annotations/limitconnections.go /
// limitrate cases, black-box through the dataplane: per client address, 503 above the limit.
describe('limit-rpm, limit-connections, limit-whitelist (per client address, 503)', () => {
  let web: TestBackend;
  let t: TestDataplane;
  const held: (() => void)[] = [];

  before(async () => {
    // /hold answers only when the test releases it: a request in progress, for limit-connections.
    web = await startBackend('web', (req, res) => {
      if (!req.url?.startsWith('/hold')) return false;
      held.push(() => res.end('released'));
      return true;
    });
    t = await startDataplane();
    const ing = (name: string, annotations: Record<string, string>) => ({
      name,
      host: `${name}.test`,
      annotations: nginx(annotations),
      paths: [{ path: '/', service: 'web' }],
    });
    t.dp.apply(
      ingressSnapshot(
        [
          // A minute-based limit: the refill (1 per minute) cannot happen during the test, however slow the machine.
          ing('rpm', { 'limit-rpm': '2', 'limit-burst-multiplier': '1' }),
          ing('conn', { 'limit-connections': '1' }),
          ing('white', {
            'limit-rpm': '1',
            'limit-burst-multiplier': '1',
            'limit-whitelist': '10.0.0.0/8, 127.0.0.1',
          }),
        ],
        { web: web.port },
      ),
    );
  });
  after(async () => {
    for (const release of held) release();
    await t.close();
    await closeAll([web]);
  });

  test('limit-rpm 2 with burst multiplier 1: two requests pass, the third gets 503 without reaching the backend', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await request({ port: t.dp.ports.http, host: 'rpm.test' })).status);
    assert.deepEqual(statuses, [200, 200, 503]);
    assert.equal(web.seen.filter((s) => s.headers.host === 'rpm.test').length, 2);
  });

  test('mirrors "should limit-connections": a second request while one is in progress gets 503, then passes', async () => {
    const first = request({ port: t.dp.ports.http, host: 'conn.test', path: '/hold' });
    // Bounded wait until the backend holds the first request (no sleep: poll the backend's own record).
    for (let i = 0; i < 500 && held.length === 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(held.length, 1);
    assert.equal((await request({ port: t.dp.ports.http, host: 'conn.test' })).status, 503);
    held.shift()?.();
    assert.equal((await first).status, 200);
    assert.equal((await request({ port: t.dp.ports.http, host: 'conn.test' })).status, 200);
  });

  test('limit-whitelist: a listed client address is never limited', async () => {
    for (let i = 0; i < 5; i++)
      assert.equal((await request({ port: t.dp.ports.http, host: 'white.test' })).status, 200);
  });

  test('memory stays bounded: 20,000 addresses on one route keep at most 16,384 entries', () => {
    const limiters = new RateLimiters(2);
    const route = {
      id: 'r',
      limits: { rps: 10, burstMultiplier: 5, whitelist: [] },
    } as unknown as Parameters<RateLimiters['admit']>[0];
    limiters.update([route]);
    for (let i = 0; i < 20_000; i++)
      limiters.admit(route, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 0)?.();
    assert.equal(limiters.tracked('r'), 16_384);
  });

  test('--workers 2 splits limit-rpm 4 into 2 per worker (rounded up)', () => {
    const limiters = new RateLimiters(2);
    const route = { id: 'r', limits: { rpm: 4, burstMultiplier: 1, whitelist: [] } } as unknown as Parameters<
      RateLimiters['admit']
    >[0];
    limiters.update([route]);
    const admitted = [0, 1, 2].map(() => limiters.admit(route, '192.0.2.1', 0) !== undefined);
    assert.deepEqual(admitted, [true, true, false]);
  });
});
