import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ControllerProcess } from '../framework/controller.ts';
import { type E2eEnv, startEnv } from '../framework/env.ts';
import { get, waitForResponse } from '../framework/http.ts';
import type { Backend } from '../framework/netns.ts';
import { ingress, service } from '../framework/objects.ts';
import { waitFor } from '../framework/wait.ts';

interface EventObj {
  reason: string;
  note: string;
  type: string;
  regarding: { kind: string; name: string; namespace?: string; uid?: string };
}

describe('invalid objects produce Events and nothing else breaks', () => {
  let env: E2eEnv;
  let ctl: ControllerProcess;
  let ns: string;
  let backend: Backend;

  const eventsFor = async (name: string) =>
    (await env.admin.list<EventObj>('events.k8s.io/v1', 'Event', ns)).filter(
      (e) => e.regarding.kind === 'Ingress' && e.regarding.name === name,
    );
  const waitEvent = (name: string, reason: RegExp) =>
    waitFor(async () => (await eventsFor(name)).find((e) => reason.test(e.reason)), {
      description: `Event ${reason} for Ingress ${name}`,
    });
  const goodStillServes = async () => {
    const r = await get(ctl.http, 'good.example.com', '/');
    assert.equal(r.status, 200);
    assert.equal(r.backend, 'good-0');
  };

  before(async () => {
    env = await startEnv();
    ns = await env.namespace('invalid');
    backend = await env.host().startBackend('good-0');
    await env.admin.apply(service(ns, 'good'));
    await env.endpoints(ns, 'good', [backend]);
    await env.admin.apply(ingress(ns, 'good', [{ host: 'good.example.com', path: '/', service: 'good' }]));
    ctl = await env.controller();
    await waitForResponse(ctl.http, 'good.example.com', '/', (r) => r.status === 200);
  });

  after(async () => {
    await env?.close();
  });

  test('an invalid annotation value: an Event naming the key, the Ingress served with the default', async () => {
    await env.admin.apply(
      ingress(ns, 'badvalue', [{ host: 'badvalue.example.com', service: 'good' }], {
        annotations: { 'sticky-ingress.dev/load-balance': 'fastest-please' },
      }),
    );
    const event = await waitEvent('badvalue', /Annotation/);
    assert.equal(event.type, 'Warning');
    assert.match(event.note, /load-balance/);
    assert.ok(event.regarding.uid, 'the Event points at the object by uid');
    assert.equal((await get(ctl.http, 'badvalue.example.com', '/')).status, 200);
    await goodStillServes();
  });

  test('an ingress-nginx snippet annotation is ignored with an Event, never executed', async () => {
    await env.admin.apply(
      ingress(ns, 'snippet', [{ host: 'snippet.example.com', service: 'good' }], {
        annotations: { 'nginx.ingress.kubernetes.io/configuration-snippet': 'return 200 "pwned";' },
      }),
    );
    const event = await waitEvent('snippet', /IgnoredAnnotation/);
    assert.match(event.note, /configuration-snippet/);
    const r = await get(ctl.http, 'snippet.example.com', '/');
    assert.equal(r.backend, 'good-0');
    assert.doesNotMatch(r.text, /pwned/);
  });

  test('a conflicting path loses to the older Ingress with a PathConflict Event', async () => {
    await env.admin.apply(service(ns, 'other'));
    await env.admin.apply(
      ingress(ns, 'younger', [{ host: 'good.example.com', path: '/', service: 'other' }]),
    );
    await waitEvent('younger', /PathConflict/);
    await goodStillServes();
  });

  test('a missing Service and a missing TLS Secret: Events, 503 for that host only', async () => {
    await env.admin.apply(
      ingress(ns, 'dangling', [{ host: 'dangling.example.com', service: 'nope' }], {
        tls: [{ hosts: ['dangling.example.com'], secretName: 'nope-tls' }],
      }),
    );
    await waitEvent('dangling', /ServiceNotFound/);
    await waitEvent('dangling', /SecretNotFound/);
    assert.equal((await get(ctl.https, 'dangling.example.com', '/', { https: true })).status, 503);
    await goodStillServes();
  });

  test('Events are not repeated by later rebuilds', async () => {
    const before = (await eventsFor('dangling')).length;
    for (let i = 0; i < 3; i += 1) {
      await env.admin.apply(ingress(ns, `churn-${i}`, [{ host: `churn-${i}.example.com`, service: 'good' }]));
      await waitForResponse(ctl.http, `churn-${i}.example.com`, '/', (r) => r.status === 200);
    }
    const after = await eventsFor('dangling');
    assert.equal(after.length, before);
    const keys = after.map((e) => `${e.reason}|${e.note}`);
    assert.equal(new Set(keys).size, keys.length, 'one Event per distinct problem');
  });

  test('the controller kept running and logged each problem with namespace/name', async () => {
    assert.equal(await ctl.running(), true);
    // waitForLog fails with "timed out waiting for ... a log line names the object" when there is none.
    const line = await ctl.waitForLog(
      (l) => l.object === `${ns}/dangling` && l.reason === 'ServiceNotFound',
      'a log line names the object',
    );
    assert.equal(line.reason, 'ServiceNotFound');
    assert.equal(await ctl.admin200('/readyz'), true);
  });
});
