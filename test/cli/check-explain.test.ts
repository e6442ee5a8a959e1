import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { appManifests, runCli, tempDir, writeFile } from './helpers.ts';

describe('sticky-ingress check', () => {
  test('a good folder: exit 0 and a summary', async (t) => {
    const { dir, cleanup } = await tempDir('si-check-');
    t.after(cleanup);
    await writeFile(join(dir, 'app.yaml'), appManifests({ host: 'app.test', ports: [8081, 8082] }));
    const r = await runCli(['check', dir]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ok: 1 files, 4 objects: 1 hosts, 1 routes, 1 backends\n$/);
  });

  test('a bad folder: every parse error and diagnostic on its own line, exit 1', async (t) => {
    const { dir, cleanup } = await tempDir('si-check-');
    t.after(cleanup);
    await writeFile(
      join(dir, 'app.yaml'),
      appManifests({
        host: 'app.test',
        ports: [8081],
        annotations: { 'sticky-ingress.dev/load-balance': 'fastest' },
      }),
    );
    await writeFile(join(dir, 'broken.yml'), 'apiVersion: v1\nkind: [\n');
    const r = await runCli(['check', dir]);
    assert.equal(r.code, 1);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^Error broken\.yml ParseError: invalid YAML in document 1: line 3/);
    assert.match(
      lines[1] ?? '',
      /^Warning Ingress web\/app metadata\.annotations\["sticky-ingress\.dev\/load-balance"\] InvalidAnnotation: .*"fastest"/,
    );
    assert.match(lines.at(-1) ?? '', /^2 problems \(2 files, 3 objects: 1 hosts/);
  });

  test('the migration report: same / differs / refused per Ingress, refused keys exit 1', async (t) => {
    const { dir, cleanup } = await tempDir('si-check-');
    t.after(cleanup);
    const nginx = (k: string) => `nginx.ingress.kubernetes.io/${k}`;
    await writeFile(
      join(dir, 'app.yaml'),
      appManifests({
        host: 'app.test',
        ports: [8081],
        annotations: { [nginx('rewrite-target')]: '/$1', [nginx('load-balance')]: 'ewma' },
      }),
    );
    const clean = await runCli(['check', dir]);
    assert.equal(clean.code, 0, clean.stdout);
    assert.match(clean.stdout, /^migration Ingress web\/app: differs$/m);
    assert.match(clean.stdout, /^ {2}same {5}nginx\.ingress\.kubernetes\.io\/rewrite-target$/m);
    assert.match(
      clean.stdout,
      /^ {2}differs {2}nginx\.ingress\.kubernetes\.io\/load-balance: ewma is served as least-conn/m,
    );
    await writeFile(
      join(dir, 'app.yaml'),
      appManifests({
        host: 'app.test',
        ports: [8081],
        annotations: { [nginx('mirror-target')]: 'https://mirror.example.com' },
      }),
    );
    const refused = await runCli(['check', dir]);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /^Error Ingress web\/app \S+ UnsupportedAnnotation: /m);
    assert.match(refused.stdout, /^migration Ingress web\/app: refused$/m);
    assert.match(refused.stdout, /^ {2}refused {2}nginx\.ingress\.kubernetes\.io\/mirror-target: /m);
  });

  test('a missing folder or no folder: exit 2', async () => {
    const none = await runCli(['check']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /check needs exactly one DIR argument/);
    const missing = await runCli(['check', '/nonexistent/si-folder']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read manifest folder \/nonexistent\/si-folder/);
  });
});

describe('sticky-ingress explain', () => {
  test('redirect, first pick with its cookie, the cookie hit, unknown host', async (t) => {
    const { dir, cleanup } = await tempDir('si-explain-');
    t.after(cleanup);
    const manifests = join(dir, 'manifests');
    await import('node:fs/promises').then((fs) => fs.mkdir(manifests));
    await writeFile(
      join(manifests, 'app.yaml'),
      appManifests({
        host: 'app.test',
        ports: [8081, 8082, 8083],
        tlsSecret: 'app-tls',
        annotations: {
          'nginx.ingress.kubernetes.io/affinity': 'cookie',
          'sticky-ingress.dev/load-balance': 'least-conn',
        },
      }),
    );
    const keyFile = join(dir, 'key');
    await writeFile(keyFile, randomBytes(24).toString('hex'));
    const explain = (...args: string[]) =>
      runCli(['explain', manifests, '--affinity-key-file', keyFile, ...args]);

    const redirect = await explain('--url', 'http://app.test/chat/?room=1', '--https-port', '443');
    assert.equal(redirect.code, 0);
    assert.match(redirect.stdout, /^host: app\.test \(TLS\)$/m);
    assert.match(
      redirect.stdout,
      /^route: Ingress\/web\/app\/\S+ path \/ \(Prefix\) from Ingress web\/app$/m,
    );
    assert.match(redirect.stdout, /^would redirect 308 to https:\/\/app\.test\/chat\/\?room=1$/m);

    const first = await explain('--url', 'https://app.test/socket.io/?EIO=4');
    assert.equal(first.code, 0);
    assert.match(first.stdout, /policy least-conn affinity cookie INGRESSCOOKIE \(balanced\), 3 endpoints/);
    assert.match(first.stdout, /^why: no cookie: least-conn pick, would set INGRESSCOOKIE$/m);
    const endpoint = /^endpoint: (\S+) /m.exec(first.stdout)?.[1];
    const cookie = /^set-cookie: (INGRESSCOOKIE=[^;]+);/m.exec(first.stdout)?.[1];
    assert.ok(endpoint && cookie, first.stdout);

    const hit = await explain(
      '--url',
      'https://app.test/socket.io/?EIO=4',
      '--cookie',
      'other=1',
      '--cookie',
      cookie,
    );
    assert.equal(hit.code, 0);
    assert.match(hit.stdout, new RegExp(`^why: cookie INGRESSCOOKIE matched endpoint ${endpoint}$`, 'm'));
    assert.doesNotMatch(hit.stdout, /set-cookie/);

    const unknown = await explain('--url', 'https://other.test/');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /^no host matches other\.test: 404$/m);
  });

  test('shows the rewritten target, the Host sent upstream and the canary choice (rewrite-target, upstream-vhost, canary-by-cookie)', async (t) => {
    const { dir, cleanup } = await tempDir('si-explain-');
    t.after(cleanup);
    const main = appManifests({
      host: 'app.test',
      ports: [8081],
      annotations: {
        'nginx.ingress.kubernetes.io/rewrite-target': '/v2',
        'nginx.ingress.kubernetes.io/upstream-vhost': 'app.internal',
      },
    });
    const canary = `---
apiVersion: v1
kind: Service
metadata: { name: beta, namespace: web }
spec:
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: beta-0
  namespace: web
  labels: { kubernetes.io/service-name: beta }
addressType: IPv4
ports: [{ name: http, port: 8090, protocol: TCP }]
endpoints:
  - addresses: [127.0.0.1]
    conditions: { ready: true, serving: true, terminating: false }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-beta
  namespace: web
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-by-cookie: beta
spec:
  ingressClassName: sticky
  rules:
    - host: app.test
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: { service: { name: beta, port: { name: http } } }
`;
    await writeFile(join(dir, 'app.yaml'), main + canary);
    const explain = (...args: string[]) =>
      runCli(['explain', dir, '--url', 'http://app.test/chat?x=1', ...args]);

    const plain = await explain();
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(
      plain.stdout,
      /^upstream request: GET \/v2\?x=1 \(rewrite-target \/v2 from \/chat\) Host app\.internal$/m,
    );
    assert.match(
      plain.stdout,
      /^canary: not chosen: the main backend \(canary web\/app-beta by cookie beta\)$/m,
    );
    assert.match(plain.stdout, /^backend: web\/app:http /m);

    const beta = await explain('--cookie', 'beta=always');
    assert.equal(beta.code, 0, beta.stderr);
    assert.match(beta.stdout, /^canary: chosen \(canary web\/app-beta by cookie beta\)$/m);
    assert.match(beta.stdout, /^backend: web\/beta:http /m);
  });

  test('upstream-hash-by: explain shows the key and the same key always gets the same endpoint', async (t) => {
    const { dir, cleanup } = await tempDir('si-explain-');
    t.after(cleanup);
    await writeFile(
      join(dir, 'app.yaml'),
      appManifests({
        host: 'app.test',
        ports: [8081, 8082, 8083, 8084],
        annotations: { 'nginx.ingress.kubernetes.io/upstream-hash-by': '$http_x_tenant-$remote_addr' },
      }),
    );
    const explain = async (tenant: string, client: string) => {
      const r = await runCli([
        'explain',
        dir,
        '--url',
        'http://app.test/',
        '--header',
        `X-Tenant: ${tenant}`,
        '--client',
        client,
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /policy hash /);
      return r.stdout;
    };
    const a = await explain('acme', '203.0.113.7');
    assert.match(a, /^hash: Maglev over \$http_x_tenant-\$remote_addr = "acme-203\.0\.113\.7"$/m);
    const endpointOf = (out: string) => /^endpoint: (\S+) /m.exec(out)?.[1];
    assert.equal(endpointOf(await explain('acme', '203.0.113.7')), endpointOf(a));
    const others = new Set<string | undefined>();
    for (let n = 0; n < 4; n++) others.add(endpointOf(await explain(`t${n}`, '203.0.113.7')));
    assert.ok(others.size > 1, 'different keys never reached different endpoints');
    const bad = await runCli(['explain', dir, '--url', 'http://app.test/', '--header', 'no colon']);
    assert.equal(bad.code, 2);
  });

  test('ssl-passthrough: explain shows the relay and the source-hash pick; plain HTTP still routes', async (t) => {
    const { dir, cleanup } = await tempDir('si-explain-');
    t.after(cleanup);
    await writeFile(
      join(dir, 'app.yaml'),
      appManifests({
        host: 'app.test',
        ports: [8081, 8082],
        annotations: { 'sticky-ingress.dev/ssl-passthrough': 'true' },
      }),
    );
    const https = await runCli(['explain', dir, '--url', 'https://app.test/x', '--client', '203.0.113.9']);
    assert.equal(https.code, 0, https.stdout + https.stderr);
    assert.match(
      https.stdout,
      /^passthrough: TLS for app\.test is not terminated; the raw connection is relayed to backend /m,
    );
    assert.match(https.stdout, /^why: consistent hash \(Maglev\) of client address "203\.0\.113\.9"$/m);
    const http = await runCli(['explain', dir, '--url', 'http://app.test/x']);
    assert.doesNotMatch(http.stdout, /passthrough/);
    assert.match(http.stdout, /^route: /m);
  });

  test('a bad --url is a usage error', async () => {
    const r = await runCli(['explain', '.', '--url', 'ftp://x/']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid --url "ftp:\/\/x\/": expected an http:\/\/ or https:\/\/ URL/);
  });
});
