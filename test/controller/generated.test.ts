import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadAllYaml } from '@kubernetes/client-node';
import {
  ANNOTATION_DOCS_PATH,
  MIGRATION_DOCS_PATH,
  renderAnnotationDocs,
  renderMigrationDoc,
} from '../../scripts/gen-annotation-docs.ts';
import { CRD_PATH, renderCrd } from '../../scripts/gen-crd.ts';
import { ERROR_DOCS_PATH, renderErrorDocs } from '../../scripts/gen-error-docs.ts';
import { build } from '../../src/controller/build/index.ts';
import { stickyRouteSpecSchema } from '../../src/controller/stickyroute/schema.ts';
import { viewFromYaml } from './golden-support.ts';

const STALE = 'is stale: run `npm run gen`';

test('crds/stickyroute.yaml matches the generator', () => {
  assert.equal(readFileSync(CRD_PATH, 'utf8'), renderCrd(), `crds/stickyroute.yaml ${STALE}`);
});

test('docs/annotations.md matches the generator', () => {
  assert.equal(
    readFileSync(ANNOTATION_DOCS_PATH, 'utf8'),
    renderAnnotationDocs(),
    `docs/annotations.md ${STALE}`,
  );
});

test('the annotation table of docs/migrating-from-ingress-nginx.md matches the generator', () => {
  const text = readFileSync(MIGRATION_DOCS_PATH, 'utf8');
  assert.equal(text, renderMigrationDoc(text), `docs/migrating-from-ingress-nginx.md ${STALE}`);
});

test('docs/errors.md matches the error catalogue', () => {
  assert.equal(readFileSync(ERROR_DOCS_PATH, 'utf8'), renderErrorDocs(), `docs/errors.md ${STALE}`);
});

test('the CRD schema is structural: every node has a type (or is int-or-string), no $ref, anyOf or oneOf', () => {
  const [crd] = loadAllYaml(readFileSync(CRD_PATH, 'utf8')) as [Record<string, unknown>];
  const root = JSON.parse(JSON.stringify(crd)).spec.versions[0].schema.openAPIV3Schema;
  const problems: string[] = [];
  const walk = (node: Record<string, unknown>, path: string) => {
    if (!node.type && !node['x-kubernetes-int-or-string']) problems.push(`${path}: no type`);
    for (const bad of ['$ref', 'anyOf', 'oneOf', 'allOf', 'additionalProperties']) {
      if (bad in node) problems.push(`${path}: ${bad}`);
    }
    for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
      walk(v, `${path}.${k}`);
    }
    if (node.items) walk(node.items as Record<string, unknown>, `${path}[]`);
  };
  walk(root, '');
  assert.deepEqual(problems, []);
  assert.equal(
    root.properties.spec.properties.routes.items.properties.backend.properties.service.properties.port[
      'x-kubernetes-int-or-string'
    ],
    true,
  );
});

test('the complete example in docs/stickyroute.md is valid and builds without diagnostics', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'stickyroute.md'), 'utf8');
  const example = /<!-- example -->\s*```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(example, 'docs/stickyroute.md has a ```yaml block after <!-- example -->');
  const secret = [
    'apiVersion: v1',
    'kind: Secret',
    'metadata: { name: chat-tls, namespace: default }',
    'type: kubernetes.io/tls',
    `data: { tls.crt: ${b64('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')}, tls.key: ${b64('-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n')} }`,
  ].join('\n');
  const view = viewFromYaml(`${example}---\n${secret}\n`);
  assert.equal(view.stickyRoutes.length, 1);
  const parsed = stickyRouteSpecSchema.safeParse(view.stickyRoutes[0]?.spec);
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  const result = build(view, { ingressClass: 'sticky' });
  assert.deepEqual(result.diagnostics, []);
  assert.deepEqual(
    result.body.hosts.flatMap((h) => h.routes.map((r) => `${h.hostname}${r.path}`)),
    ['chat.example.com/socket.io/', 'chat.example.com/'],
  );
});

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}
