/**
 * A tenant's TLS Secret must not stall the event loop every replica serves traffic from (issue 10 item 8).
 * Costs are compared with a baseline measured in the same test (a well-formed Secret of the same size), never
 * against a wall-clock threshold: the hostile one must cost about what parsing that size costs anyway.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { type BuildResult, build } from '../../src/controller/build/index.ts';
import type { ClusterView } from '../../src/controller/view.ts';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIBfakecertificatebody\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIfakekeybody\n-----END PRIVATE KEY-----\n';

/** BEGIN markers without any END, `bytes` long: what made the old lazy regex backtrack quadratically. */
function hostile(bytes: number): string {
  const marker = '-----BEGIN CERTIFICATE-----\n';
  return marker.repeat(Math.ceil(bytes / marker.length)).slice(0, bytes);
}

/** A valid certificate followed by explanatory text (RFC 7468 allows it) up to `bytes`. */
function wellFormed(bytes: number): string {
  return CERT + 'x'.repeat(bytes - CERT.length);
}

function view(certPem: string): ClusterView {
  const objects = `{
    "ingresses": [{"metadata": {"name": "web", "namespace": "t", "creationTimestamp": "2025-01-01T00:00:00Z"},
      "spec": {"ingressClassName": "sticky", "tls": [{"hosts": ["a.test"], "secretName": "tls"}],
        "rules": [{"host": "a.test", "http": {"paths": [{"path": "/", "pathType": "Prefix",
          "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}],
    "ingressClasses": [], "services": [], "endpointSlices": [], "stickyRoutes": [],
    "secrets": [{"metadata": {"name": "tls", "namespace": "t"}, "type": "kubernetes.io/tls",
      "data": {"tls.crt": "${Buffer.from(certPem).toString('base64')}", "tls.key": "${Buffer.from(KEY).toString('base64')}"}}]
  }`;
  return JSON.parse(objects) as ClusterView;
}

/** The fastest of `runs` builds (a fresh cache each time, so the Secret is parsed each time), and the last result. */
function cost(v: ClusterView, runs: number): { ms: number; result: BuildResult } {
  let ms = Number.POSITIVE_INFINITY;
  let result: BuildResult | undefined;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    result = build(v, { ingressClass: 'sticky' });
    ms = Math.min(ms, performance.now() - start);
  }
  return { ms, result: result as BuildResult };
}

const reasons = (r: BuildResult) =>
  r.diagnostics
    .filter((d) => d.reason !== 'ServiceNotFound')
    .map((d) => `${d.object.kind} ${d.reason}: ${d.message}`);

test('a 750 KB tls.crt of BEGIN markers is refused as too large, at the cost of a well-formed one of that size', () => {
  const bytes = 750_000;
  const baseline = cost(view(wellFormed(bytes)), 5);
  const attack = cost(view(hostile(bytes)), 5);
  assert.deepEqual(reasons(attack.result), [
    `Ingress SecretTooLarge: Secret t/tls: tls.crt is ${bytes} bytes, over the 262144-byte limit; hosts of spec.tls[0] are served with the default certificate`,
  ]);
  // Falls back like any bad certificate: the host is still served, with the default certificate.
  assert.deepEqual(attack.result.body.hosts[0]?.tls, {});
  // Linear work is within a small factor of the baseline; the old regex took seconds (thousands of times more).
  assert.ok(attack.ms < baseline.ms * 20, `hostile ${attack.ms} ms vs baseline ${baseline.ms} ms`);
});

test('a hostile tls.crt under the size cap is parsed in linear time and reported as not a certificate', () => {
  const bytes = 250_000;
  const baseline = cost(view(wellFormed(bytes)), 5);
  assert.deepEqual(reasons(baseline.result), []);
  const attack = cost(view(hostile(bytes)), 5);
  assert.deepEqual(reasons(attack.result), [
    'Ingress InvalidCertificate: Secret t/tls: tls.crt is not a PEM certificate; hosts of spec.tls[0] are served with the default certificate',
  ]);
  assert.ok(attack.ms < baseline.ms * 20, `hostile ${attack.ms} ms vs baseline ${baseline.ms} ms`);
});
