/**
 * Status sync with a diagnostic about no stored object (issue 12 item 4): a build's internal error is reported
 * on kind `Build`, which no informer watches. Looking its uid up in the store used to throw, which aborted the
 * sync and lost the Events of every diagnostic after it. The API is a fake KubeRest that records requests.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { EventRecorder } from '../../../src/controller/k8s/event-recorder.ts';
import type { KubeRest } from '../../../src/controller/k8s/kube-rest.ts';
import { StatusSync } from '../../../src/controller/k8s/status-sync.ts';
import { ClusterStore } from '../../../src/controller/k8s/store.ts';
import type { Diagnostic } from '../../../src/controller/view.ts';

test('a Build diagnostic does not stop the Events of the others', async () => {
  const posts: { path: string; body: { regarding: { kind: string; uid?: string } } }[] = [];
  const rest = {
    request: async (method: string, path: string, body: never) => {
      if (method === 'POST') posts.push({ path, body });
      return {};
    },
  } as unknown as KubeRest;
  const logger = pino({ level: 'silent' });
  const store = new ClusterStore({ ingressClass: 'sticky' });
  store.upsert('Ingress', { metadata: { name: 'web', namespace: 'ns', uid: 'u-1' } } as never);
  const events = new EventRecorder({ rest, logger, instance: 'x' });
  const sync = new StatusSync({
    rest,
    logger,
    observer: undefined,
    events,
    store,
    options: { publishAddress: [], statusResyncMs: 60_000 },
  });
  const diagnostics: Diagnostic[] = [
    {
      severity: 'Error',
      object: { kind: 'Build', namespace: '', name: '' },
      reason: 'InternalError',
      message: 'x',
    },
    {
      severity: 'Warning',
      object: { kind: 'Ingress', namespace: 'ns', name: 'web' },
      reason: 'R',
      message: 'y',
    },
  ];
  sync.built({ diagnostics, statuses: [] });
  sync.setLeader(true);
  await sync.close();
  const ingressEvent = posts.find((p) => p.body.regarding.kind === 'Ingress');
  assert.ok(ingressEvent, `no Event for the Ingress; posted: ${posts.map((p) => p.body.regarding.kind)}`);
  assert.equal(ingressEvent.body.regarding.uid, 'u-1');
});

test('an endpoint-only build (the very same results) starts no status sync; a new result does', async () => {
  const synced: string[] = [];
  const rest = {
    request: async (method: string, path: string) => {
      // Each sync reads the publish Service first: one GET per sync.
      if (method === 'GET' && path.endsWith('/services/lb')) synced.push(path);
      return {};
    },
  } as unknown as KubeRest;
  const logger = pino({ level: 'silent' });
  const store = new ClusterStore({ ingressClass: 'sticky' });
  const sync = new StatusSync({
    rest,
    logger,
    observer: undefined,
    events: new EventRecorder({ rest, logger, instance: 'x' }),
    store,
    options: { publishService: 'ns/lb', publishAddress: [], statusResyncMs: 60_000 },
  });
  // The fake API answers at once: a bounded number of turns of the event loop finishes a sync.
  const settle = async () => {
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  sync.setLeader(true);
  const result = { diagnostics: [], statuses: [] };
  sync.built(result);
  await settle();
  assert.equal(synced.length, 1);
  // The build's endpoint fast path: a new result object around the very same lists.
  sync.built({ ...result });
  await settle();
  assert.equal(synced.length, 1, 'nothing to write after an endpoint-only change');
  sync.built({ diagnostics: [], statuses: [] });
  await settle();
  assert.equal(synced.length, 2, 'a full build syncs');
  await sync.close();
});
