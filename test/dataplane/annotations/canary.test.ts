import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closeAll, startBackend, type TestBackend } from '../helpers/backends.ts';
import { request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { ingressSnapshot, nginx } from './ingress-support.ts';

// Re-expressed from ingress-nginx test/e2e/annotations/canary.go, black-box through the dataplane.
describe('canary Ingresses (ingress-nginx canary-* annotations)', () => {
  let prod: TestBackend;
  let canary: TestBackend;
  let t: TestDataplane;
  const host = 'shop.test';
  const hit = async (headers: Record<string, string> = {}) =>
    (await request({ port: t.dp.ports.http, host, path: '/info', headers })).headers['x-backend-id'];
  const apply = (canaryAnnotations: Record<string, string>, version: number, canaryOlder = true) =>
    t.dp.apply(
      ingressSnapshot(
        [
          {
            name: 'shop',
            host,
            created: '2025-01-01T00:00:00Z',
            paths: [{ path: '/', service: 'prod' }],
          },
          {
            // Older and first by name: before issue 15 it won the path conflict and took every request.
            name: 'aaa-canary',
            host,
            created: canaryOlder ? '2024-01-01T00:00:00Z' : '2025-06-01T00:00:00Z',
            annotations: nginx({ canary: 'true', ...canaryAnnotations }),
            paths: [{ path: '/', service: 'canary' }],
          },
        ],
        { prod: prod.port, canary: canary.port },
        version,
      ),
    );

  before(async () => {
    prod = await startBackend('prod');
    canary = await startBackend('canary');
    t = await startDataplane();
  });
  after(async () => {
    await t.close();
    await closeAll([prod, canary]);
  });

  test('canary-weight "0" never takes the production path: 200 requests all reach production', async () => {
    apply({ 'canary-weight': '0' }, 1);
    const seen = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const id = String(await hit());
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    assert.deepEqual([...seen], [['prod', 200]]);
    assert.equal(canary.seen.length, 0);
  });

  test('mirrors "should route requests only to canary if canary weight is 100"', async () => {
    apply({ 'canary-weight': '100' }, 2);
    for (let i = 0; i < 20; i++) assert.equal(await hit(), 'canary');
  });

  test('mirrors "should route requests to the correct upstream if mainline ingress is created before the canary ingress" with canary-weight-total', async () => {
    apply({ 'canary-weight': '1000', 'canary-weight-total': '1000' }, 3, false);
    for (let i = 0; i < 10; i++) assert.equal(await hit(), 'canary');
    apply({ 'canary-weight': '0', 'canary-weight-total': '1000' }, 4, false);
    for (let i = 0; i < 10; i++) assert.equal(await hit(), 'prod');
  });

  test('mirrors "should route requests to the correct upstream if the header is set to always / never"', async () => {
    apply({ 'canary-by-header': 'CanaryByHeader', 'canary-weight': '100' }, 5);
    assert.equal(await hit({ CanaryByHeader: 'always' }), 'canary');
    assert.equal(await hit({ CanaryByHeader: 'never' }), 'prod', 'never beats the weight');
    assert.equal(
      await hit({ CanaryByHeader: 'badvalue' }),
      'canary',
      'other values fall through to the weight',
    );
  });

  test('mirrors "should route requests to the correct upstream if the header value matches / pattern matches"', async () => {
    apply({ 'canary-by-header': 'CanaryByHeader', 'canary-by-header-value': 'DoCanary' }, 6);
    assert.equal(await hit({ CanaryByHeader: 'DoCanary' }), 'canary');
    assert.equal(await hit({ CanaryByHeader: 'always' }), 'prod', 'a custom value replaces always');
    apply({ 'canary-by-header': 'CanaryByHeader', 'canary-by-header-pattern': '^Do(Canary|Beta)$' }, 7);
    assert.equal(await hit({ CanaryByHeader: 'DoBeta' }), 'canary');
    assert.equal(await hit({ CanaryByHeader: 'DoGamma' }), 'prod');
  });

  test('mirrors "should route requests to the correct upstream if the cookie is set to always / never"', async () => {
    apply({ 'canary-by-cookie': 'CanaryByCookie', 'canary-weight': '100' }, 8);
    assert.equal(await hit({ Cookie: 'a=b; CanaryByCookie=always' }), 'canary');
    assert.equal(await hit({ Cookie: 'CanaryByCookie=never' }), 'prod');
    apply({ 'canary-by-header': 'H', 'canary-by-cookie': 'C' }, 9);
    assert.equal(await hit({ H: 'never', Cookie: 'C=always' }), 'prod', 'the header wins over the cookie');
  });

  test('affinity-canary-behavior sticky: a client pinned to the canary stays there when the weight drops', async () => {
    const sticky = { affinity: 'cookie', 'canary-weight': '100' };
    apply(sticky, 10);
    const first = await request({ port: t.dp.ports.http, host, path: '/' });
    assert.equal(first.headers['x-backend-id'], 'canary');
    const cookie = String(first.headers['set-cookie']?.[0]).split(';')[0] as string;
    apply({ ...sticky, 'canary-weight': '0' }, 11);
    for (let i = 0; i < 5; i++) assert.equal(await hit({ Cookie: cookie }), 'canary');
    assert.equal(await hit(), 'prod', 'a new client follows the weight');
    apply({ ...sticky, 'canary-weight': '0', 'affinity-canary-behavior': 'legacy' }, 12);
    assert.equal(await hit({ Cookie: cookie }), 'prod', 'legacy: the weight decides every request');
  });
});
