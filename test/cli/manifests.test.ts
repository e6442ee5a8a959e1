import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type FolderLoad, ManifestFolder, parseManifestText } from '../../src/controller/manifests/index.ts';

const service = (name: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  ports:
    - name: http
      port: 80
`;

describe('parseManifestText', () => {
  test('multi-document YAML with empty documents, comments and a trailing ---', () => {
    const text = `# leading comment\n---\n${service('a')}---\n# only a comment\n---\n${service('b')}---\n`;
    const parsed = parseManifestText('two.yaml', text);
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(
      parsed.objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`),
      ['Service default/a', 'Service default/b'],
    );
  });

  test('kind: List is expanded and its items typed like top-level objects', () => {
    const text = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'web' }, spec: {} },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
      ],
    });
    const parsed = parseManifestText('list.json', text);
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(
      parsed.objects.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`),
      ['Service web/s', 'ConfigMap default/c'],
    );
  });

  test('a YAML error fails the whole file with the document and line', () => {
    const parsed = parseManifestText('bad.yaml', `${service('a')}---\nkind: [\n`);
    assert.equal(parsed.objects.length, 0);
    assert.equal(parsed.problems.length, 1);
    assert.match(parsed.problems[0]?.message ?? '', /^invalid YAML in document 2: line 11, column 1: /);
  });

  test('an object without metadata.name is named by its kind', () => {
    const parsed = parseManifestText('x.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {}\n');
    assert.deepEqual(parsed.problems, [
      { file: 'x.yaml', object: 'Service', message: 'metadata.name is missing' },
    ]);
  });

  test('invalid JSON is reported as such', () => {
    const parsed = parseManifestText('x.json', '{"kind": ');
    assert.match(parsed.problems[0]?.message ?? '', /^invalid JSON/);
  });
});

describe('ManifestFolder', () => {
  test('sorts kinds, keeps only TLS Secrets, folds stringData, reports duplicates', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'si-manifests-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'a.yaml'), service('web'));
    await writeFile(
      join(dir, 'b.yml'),
      `${service('web')}---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata: {name: cert}
stringData: {tls.crt: CRT, tls.key: KEY}
---
apiVersion: v1
kind: Secret
type: Opaque
metadata: {name: other}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
`,
    );
    await writeFile(join(dir, 'notes.txt'), 'not a manifest');
    const load = await new ManifestFolder({ dir }).load();
    assert.equal(load.view.services.length, 1);
    assert.equal(load.view.secrets.length, 1);
    assert.equal(load.view.secrets[0]?.data?.['tls.crt'], Buffer.from('CRT').toString('base64'));
    assert.equal(load.ignored, 2);
    assert.equal(load.problems.length, 1);
    assert.match(load.problems[0]?.message ?? '', /duplicate object, already defined in a\.yaml/);
    assert.equal(load.problems[0]?.file, 'b.yml');
  });

  test('an object that does not decode is a problem naming it; the other objects are served', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'si-manifests-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(
      join(dir, 'a.yaml'),
      `${service('web')}---
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: shop, generation: one}
spec: {ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: dated, creationTimestamp: 2024-01-02T03:04:05Z}
spec: {ingressClassName: sticky}
`,
    );
    const load = await new ManifestFolder({ dir }).load();
    assert.deepEqual(
      load.view.services.map((s) => s.metadata.name),
      ['web'],
    );
    assert.deepEqual(
      load.problems.map((p) => `${p.file} ${p.object}`),
      ['a.yaml Service shop/broken'],
    );
    assert.match(load.problems[0]?.message ?? '', /not a valid Service.*generation/);
    // YAML 1.1 reads an unquoted timestamp as a Date: decoded to the RFC 3339 string the API server sends.
    assert.equal(load.view.ingresses[0]?.metadata.creationTimestamp, '2024-01-02T03:04:05.000Z');
  });

  test('watches: an edit reloads, a broken edit keeps the last good objects, a removal drops them', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'si-manifests-'));
    const loads: FolderLoad[] = [];
    let notify: () => void = () => {};
    const folder = new ManifestFolder({
      dir,
      debounceMs: 20,
      onChange: (l) => {
        loads.push(l);
        notify();
      },
    });
    t.after(async () => {
      await folder.close();
      await rm(dir, { recursive: true, force: true });
    });
    const next = (predicate: (l: FolderLoad) => boolean) =>
      new Promise<FolderLoad>((resolve) => {
        notify = () => {
          const last = loads.at(-1);
          if (last && predicate(last)) resolve(last);
        };
      });
    const names = (l: FolderLoad) => l.view.services.map((s) => s.metadata?.name).sort();

    await writeFile(join(dir, 'one.yaml'), service('first'));
    const first = await folder.start();
    assert.deepEqual(names(first), ['first']);

    let changed = next((l) => names(l).includes('second'));
    await writeFile(join(dir, 'one.yaml'), `${service('first')}---\n${service('second')}`);
    assert.deepEqual(names(await changed), ['first', 'second']);

    changed = next((l) => l.problems.length > 0);
    await writeFile(join(dir, 'one.yaml'), 'kind: [\n');
    const broken = await changed;
    assert.equal(broken.problems[0]?.file, 'one.yaml');
    assert.deepEqual(names(broken), ['first', 'second']);

    changed = next((l) => names(l).includes('third'));
    await writeFile(
      join(dir, 'two.json'),
      JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'third' } }),
    );
    const third = await changed;
    // The broken file is reported when it changes, not again on every later reload.
    assert.deepEqual(third.problems, []);
    assert.deepEqual(names(third), ['first', 'second', 'third']);

    changed = next((l) => !names(l).includes('first'));
    await rm(join(dir, 'one.yaml'));
    assert.deepEqual(names(await changed), ['third']);
  });

  test('load() rejects with a typed error when the folder does not exist', async () => {
    await assert.rejects(new ManifestFolder({ dir: join(tmpdir(), 'si-does-not-exist-xyz') }).load(), {
      code: 'STICKY_ERR_MANIFESTS_FOLDER',
    });
  });
});
