/**
 * Access-control annotations fail closed (issue 10 item 9), seen from outside: an Ingress asking for
 * authentication sticky-ingress does not implement is not routed at all by `serve --manifests` (its host gets
 * the 404 of an unserved host, never the backend), and `check` exits 1 naming the annotation.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  appManifests,
  httpGet,
  runCli,
  startNamedBackend,
  startServe,
  tempDir,
  writeFile,
} from './helpers.ts';

/** A second Ingress over the same Service, for `host`, with `annotations`. */
function extraIngress(name: string, host: string, annotations: Record<string, string>): string {
  const ann = Object.entries(annotations)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: web
  annotations:
${ann}
spec:
  ingressClassName: sticky
  rules:
    - host: ${host}
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: app, port: { name: http } } } }
`;
}

describe('access-control annotations fail closed', () => {
  test('serve --manifests does not route an Ingress with auth-url; the others keep working', async (t) => {
    const backend = await startNamedBackend('app');
    t.after(() => backend.close());
    const { dir, cleanup } = await tempDir('si-access-');
    t.after(cleanup);
    await writeFile(join(dir, 'app.yaml'), appManifests({ host: 'open.test', ports: [backend.port] }));
    await writeFile(
      join(dir, 'locked.yaml'),
      extraIngress('locked', 'locked.test', {
        'nginx.ingress.kubernetes.io/auth-url': 'https://auth.example/check',
      }),
    );
    const { p, ports } = await startServe(['--manifests', dir]);
    t.after(() => p.kill());
    await p.waitForRecord((r) => r.msg === 'snapshot applied', 'snapshot applied');
    const open = await httpGet(ports.http, 'open.test', '/');
    assert.deepEqual([open.status, open.body], [200, 'app']);
    const locked = await httpGet(ports.http, 'locked.test', '/admin');
    assert.equal(locked.status, 404);
    assert.notEqual(locked.body, 'app');
  });

  test('check exits 1 and names each access-control annotation it refuses', async (t) => {
    const { dir, cleanup } = await tempDir('si-access-');
    t.after(cleanup);
    await writeFile(join(dir, 'app.yaml'), appManifests({ host: 'open.test', ports: [8081] }));
    await writeFile(
      join(dir, 'locked.yaml'),
      extraIngress('locked', 'locked.test', {
        'nginx.ingress.kubernetes.io/auth-tls-secret': 'web/ca',
        'nginx.ingress.kubernetes.io/whitelist-source-range': '10.0.0.0/8,not-a-cidr',
      }),
    );
    const r = await runCli(['check', dir]);
    assert.equal(r.code, 1);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^Error Ingress web\/locked .*auth-tls-secret.* UnsupportedAccessControl: /);
    assert.match(
      lines[1] ?? '',
      /^Error Ingress web\/locked .*whitelist-source-range.* InvalidAccessControl: .*"not-a-cidr"/,
    );
    assert.match(lines.at(-1) ?? '', /^2 problems \(2 files, 4 objects: 1 hosts, 1 routes/);
  });
});
