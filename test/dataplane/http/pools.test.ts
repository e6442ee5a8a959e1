import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { closeAll, startBackends, type TestBackend } from '../helpers/backends.ts';
import { json, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

let backends: TestBackend[];
let t: TestDataplane;
before(async () => {
  backends = await startBackends(2);
  t = await startDataplane();
});
after(async () => {
  await t.close();
  await closeAll(backends);
});

test('keep-alive upstream connections survive a swap and are closed when their endpoint leaves', async () => {
  const [b0, b1] = backends as [TestBackend, TestBackend];
  const opened: Socket[] = [];
  b1.server.on('connection', (s: Socket) => opened.push(s));
  const both = { hosts: [{ hostname: 'app.test', routes: [{ backend: 'app' }] }] };
  t.dp.apply(buildSnapshot({ ...both, backends: [{ id: 'app', endpoints: [b0.port, b1.port] }] }, 1));
  const port = t.dp.ports.http;
  const ids = new Set<string>();
  for (let i = 0; i < 4; i++) ids.add(json(await request({ port, host: 'app.test' })).id);
  assert.deepEqual([...ids].sort(), ['b0', 'b1']);
  assert.equal(opened.length, 1, 'one pooled connection to b1');

  // Same endpoints, another version: the pooled connection is reused, not reopened.
  t.dp.apply(
    buildSnapshot({ ...both, backends: [{ id: 'app', endpoints: [b0.port, b1.port], retries: 1 }] }, 2),
  );
  for (let i = 0; i < 4; i++) await request({ port, host: 'app.test' });
  assert.equal(opened.length, 1, 'the swap kept the keep-alive connection');

  // b1 leaves the configuration: its pool closes the idle connection at once. The only other way it
  // closes is the upstream keep-alive timeout (4 s idle), so a bound of half that tells the two apart.
  const closed = once(opened[0]!, 'close').then(() => 'closed by the swap');
  t.dp.apply(buildSnapshot({ ...both, backends: [{ id: 'app', endpoints: [b0.port] }] }, 3));
  const idle = new Promise<string>((resolve) => setTimeout(resolve, 2_000, 'still open').unref());
  assert.equal(await Promise.race([closed, idle]), 'closed by the swap');
  assert.equal(json(await request({ port, host: 'app.test' })).id, 'b0');
});
