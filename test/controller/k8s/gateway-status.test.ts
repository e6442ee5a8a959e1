import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatewayApiStatus, RouteParentStatus } from '../../../src/controller/gateway/status.ts';
import {
  desiredStatus,
  routeParents,
  type StoredGatewayStatus,
  sameStatus,
} from '../../../src/controller/k8s/gateway-status.ts';

const OURS = 'sticky-ingress.dev/controller';
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-02-02T00:00:00Z';

const parent = (name: string, status: 'True' | 'False', reason: string): RouteParentStatus => ({
  parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'ns', name },
  controllerName: OURS,
  conditions: [{ type: 'Accepted', status, reason, message: reason, observedGeneration: 2 }],
});

test('lastTransitionTime is kept while the status stays, moved when it flips; others keep their place', () => {
  const foreign = {
    parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'ns', name: 'theirs' },
    controllerName: 'example.com/other',
    conditions: [
      { type: 'Accepted', status: 'True' as const, reason: 'A', message: 'm', lastTransitionTime: T0 },
    ],
  };
  const first = routeParents([parent('gw', 'True', 'Accepted')], [foreign], T0, OURS);
  assert.deepEqual(
    first.map((p) => p.controllerName),
    ['example.com/other', OURS],
  );
  const same = routeParents([parent('gw', 'True', 'Accepted')], first, T1, OURS);
  assert.ok(sameStatus({ parents: first }, { parents: same }), 'nothing to write');
  const flipped = routeParents([parent('gw', 'False', 'NotAllowedByListeners')], same, T1, OURS);
  assert.equal(flipped[1]?.conditions?.[0]?.lastTransitionTime, T1);
  assert.deepEqual(flipped[0], foreign, 'the other controller entry is untouched');
  assert.deepEqual(routeParents([], flipped, T1, OURS), [foreign], 'ours dropped when no longer ours');
});

test('Gateway: listeners stamped by name, addresses only when a source is configured', () => {
  const s: GatewayApiStatus = {
    kind: 'Gateway',
    namespace: 'ns',
    name: 'gw',
    conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok' }],
    listeners: [
      {
        name: 'http',
        attachedRoutes: 1,
        supportedKinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }],
        conditions: [{ type: 'Programmed', status: 'True', reason: 'Programmed', message: 'ok' }],
      },
    ],
  };
  const stored: StoredGatewayStatus = { addresses: [{ type: 'IPAddress', value: '192.0.2.1' }] };
  const kept = desiredStatus(s, stored, T0, undefined, OURS);
  assert.deepEqual(kept.addresses, stored.addresses, 'no source configured: left as stored');
  const next = desiredStatus(s, kept, T1, [{ ip: '192.0.2.9' }, { hostname: 'lb.example' }], OURS);
  assert.deepEqual(next.addresses, [
    { type: 'IPAddress', value: '192.0.2.9' },
    { type: 'Hostname', value: 'lb.example' },
  ]);
  assert.equal(
    next.listeners?.[0]?.conditions?.[0]?.lastTransitionTime,
    T0,
    'unchanged condition keeps its time',
  );
});
