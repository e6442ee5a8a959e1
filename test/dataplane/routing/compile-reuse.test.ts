import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSnapshot } from '../../../src/dataplane/routing/compile.ts';
import { Upstreams } from '../../../src/dataplane/upstream/upstreams.ts';
import {
  finalizeSnapshot,
  type Snapshot,
  SnapshotHasher,
  type VirtualHost,
} from '../../../src/snapshot/index.ts';
import { affinity, backend, endpoint, KEY } from '../upstream/fixtures.ts';

function host(name: string, backendId: string): VirtualHost {
  return {
    hostname: name,
    routes: [
      {
        id: `Ingress/default/${name}/0/0`,
        source: { kind: 'Ingress', namespace: 'default', name },
        path: '/',
        pathType: 'Prefix',
        backend: backendId,
        redirect: { sslRedirect: false, forceSslRedirect: false, code: 308 },
      },
    ],
  };
}

test('a swap reuses the upstream and compiled state of unchanged (same object) backends and hosts only', () => {
  const hasher = new SnapshotHasher();
  const a = backend([endpoint(1), endpoint(2)], { id: 'a', affinity: affinity() });
  const b = backend([endpoint(3)], { id: 'b' });
  const hostA = host('a.example', 'a');
  const hostB = host('b.example', 'b');
  const first = finalizeSnapshot({ hosts: [hostA, hostB], backends: [a, b], certificates: [] }, 1, hasher);
  const upstreams = new Upstreams({ affinityKey: KEY });
  upstreams.update(first.backends);
  const compiled1 = compileSnapshot(first, (id) => upstreams.backend(id));
  const stateA = upstreams.backend('a');
  const stateB = upstreams.backend('b');

  // Backend b loses its endpoint (an EndpointSlice change); a and its host are the very same objects.
  const b2 = backend([], { id: 'b' });
  const second: Snapshot = finalizeSnapshot(
    { hosts: [hostA, hostB], backends: [first.backends[0]!, b2], certificates: [] },
    2,
    hasher,
  );
  assert.notEqual(second.hash, first.hash);
  upstreams.update(second.backends);
  const compiled2 = compileSnapshot(second, (id) => upstreams.backend(id), compiled1);
  assert.equal(upstreams.backend('a'), stateA, 'unchanged backend keeps its state object');
  assert.notEqual(upstreams.backend('b'), stateB, 'changed backend gets a new state');
  assert.equal(
    compiled2.exact.get('a.example'),
    compiled1.exact.get('a.example'),
    'host of unchanged backend reused',
  );
  const hostB2 = compiled2.exact.get('b.example');
  assert.notEqual(hostB2, compiled1.exact.get('b.example'), 'host whose backend state changed is recompiled');
  assert.equal(hostB2?.routes[0]?.backend, upstreams.backend('b'));
  assert.equal(upstreams.backend('b')?.pick(undefined, false), undefined, 'b has no endpoint left');
});

test('the content hash does not depend on the part-hash cache', () => {
  const body = () => ({
    hosts: [host('a.example', 'a')],
    backends: [backend([endpoint(1)], { id: 'a' })],
    certificates: [],
  });
  const hasher = new SnapshotHasher();
  const warm = finalizeSnapshot(body(), 1, hasher);
  const again = finalizeSnapshot({ ...body(), hosts: warm.hosts, backends: warm.backends }, 2, hasher);
  assert.equal(again.hash, finalizeSnapshot(body(), 3).hash);
  const other = finalizeSnapshot({ ...body(), backends: [backend([endpoint(2)], { id: 'a' })] }, 4, hasher);
  assert.notEqual(other.hash, again.hash);
});
