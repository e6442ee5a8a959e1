/**
 * SIGTERM order (issue 10 item 10): draining starts before the configuration source (status writes, Lease
 * release) is closed, so a slow or unreachable API server never delays the drain. The parts are fakes that
 * record when each step starts and ends; `stop` is what `serve` runs after the shutdown delay.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { stop } from '../../cmd/serve.ts';

test('stop starts draining before the source (status, Lease) is closed, and finishes both', async () => {
  const order: string[] = [];
  let releaseSource: () => void = () => {};
  const sourceClosed = new Promise<void>((resolve) => {
    releaseSource = resolve;
  });
  const running = {
    dataplane: {
      shutdown: async () => {
        order.push('drain started');
        await Promise.resolve();
        order.push('drain finished');
      },
    },
    // The API server is slow: the Lease release only completes when the test lets it.
    source: {
      close: async () => {
        order.push('source close started');
        await sourceClosed;
        order.push('source closed');
      },
    },
    admin: { close: async () => void order.push('admin closed') },
    side: { close: async () => void order.push('side closed') },
  };
  const done = stop({ drainTimeout: 1000 }, running as never, pino({ level: 'silent' }));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['drain started', 'source close started', 'drain finished']);
  releaseSource();
  await done;
  assert.deepEqual(order.slice(3), ['source closed', 'admin closed', 'side closed']);
});
