import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { type ClusterControllerHandle, startClusterController } from '../../../src/controller/k8s/index.ts';
import { SnapshotPublisher } from '../../../src/controller/publisher.ts';
import type { Snapshot } from '../../../src/snapshot/types.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { endpointSlice, ingress, service } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

/** The API of `startClusterController` itself (the CLI suites cover it as a process). */
describe('startClusterController in-process against the API server', () => {
  let env: E2eEnv;
  let ns: string;
  const handles: ClusterControllerHandle[] = [];
  /** What each handle's observer heard about leadership. */
  const leaderEvents = new Map<ClusterControllerHandle, boolean[]>();
  const logger = pino({ level: 'silent' });

  const start = async (
    podName: string,
    snapshots: Snapshot[],
    builds: { changed: boolean }[],
    leaders: boolean[],
  ) => {
    const publisher = new SnapshotPublisher({ ingressClass: 'sticky' }, (s) => snapshots.push(s));
    const handle = await startClusterController(
      {
        kubeconfig: env.identity.kubeconfig,
        watchNamespaces: [ns],
        ingressClass: 'sticky',
        publishAddress: ['ingress.e2e.test'],
        leaderElection: true,
        leaderElectionNamespace: env.identity.namespace,
        leaderElectionLease: 'in-process',
        podName,
        leaderTiming: { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 200 },
      },
      {
        publisher,
        logger,
        observer: { build: (b) => builds.push({ changed: b.changed }), leader: (l) => leaders.push(l) },
      },
    );
    handles.push(handle);
    leaderEvents.set(handle, leaders);
    return handle;
  };

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('inproc');
    const backend = await env.host().startBackend('ip-0');
    await env.admin.apply(service(ns, 'web'));
    await env.admin.apply(endpointSlice(ns, 'web', [backend]));
    await env.admin.apply(ingress(ns, 'web', [{ host: 'web.example.com', service: 'web' }]));
  });

  after(async () => {
    await Promise.all(handles.map((h) => h.close()));
    await env?.close();
  });

  test('ready() turns true with the first snapshot, which already holds the listed objects', async () => {
    const snapshots: Snapshot[] = [];
    const builds: { changed: boolean }[] = [];
    const handle = await start('one', snapshots, builds, []);
    await waitFor(() => handle.ready(), { description: 'ready' });
    const first = snapshots[0];
    assert.ok(first, 'a snapshot was applied');
    assert.deepEqual(
      first.hosts.map((h) => h.hostname),
      ['web.example.com'],
      'no empty snapshot went out before every informer listed',
    );
    assert.equal(first.backends[0]?.endpoints.length, 1);
    assert.ok(builds.length >= 1);
  });

  test('one leader at a time; the Ingress gets the publish address; close() hands the Lease over', async () => {
    const [first] = handles as [ClusterControllerHandle];
    const second = await start('two', [], [], []);
    await waitFor(() => first.isLeader() || second.isLeader(), { description: 'a leader' });
    assert.equal(first.isLeader() && second.isLeader(), false);
    await waitFor(
      async () => {
        const got = await env.admin.get<{
          status?: { loadBalancer?: { ingress?: { hostname?: string }[] } };
        }>('networking.k8s.io/v1', 'Ingress', ns, 'web');
        return got.status?.loadBalancer?.ingress?.[0]?.hostname === 'ingress.e2e.test';
      },
      { description: 'Ingress status' },
    );
    const leader = first.isLeader() ? first : second;
    const follower = leader === first ? second : first;
    await leader.close();
    handles.splice(handles.indexOf(leader), 1);
    await waitFor(() => follower.isLeader(), { description: 'the follower takes over', timeoutMs: 10_000 });
    assert.deepEqual(leaderEvents.get(leader), [true, false], 'close() gives leadership up');
    assert.deepEqual(leaderEvents.get(follower), [true], 'the observer heard the takeover');
  });
});
