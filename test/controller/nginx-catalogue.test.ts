import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ANNOTATION_DESCRIPTORS,
  IGNORED_NGINX_ANNOTATIONS,
  NGINX_ANNOTATION_KEYS,
  NGINX_PREFIX,
  parseIngressAnnotations,
  REFUSED_NGINX_ANNOTATIONS,
  UNSUPPORTED_ACCESS_CONTROL,
} from '../../src/controller/annotations/index.ts';
import { migrationReport, nginxCatalogue } from '../../src/controller/annotations/migration.ts';

describe('every ingress-nginx annotation is served, refused or ignored (issue 15, item 9)', () => {
  const served = new Set(ANNOTATION_DESCRIPTORS.filter((d) => d.nginx).map((d) => d.key));
  test('each documented key is in exactly one table', () => {
    for (const key of NGINX_ANNOTATION_KEYS) {
      const refused = key in REFUSED_NGINX_ANNOTATIONS || key in UNSUPPORTED_ACCESS_CONTROL;
      const tables = [served.has(key), refused, key in IGNORED_NGINX_ANNOTATIONS];
      assert.equal(tables.filter(Boolean).length, 1, `${key}: served/refused/ignored = ${tables}`);
    }
    assert.equal(nginxCatalogue().length, NGINX_ANNOTATION_KEYS.length);
  });
  test('no table names a key ingress-nginx does not document', () => {
    const documented = new Set(NGINX_ANNOTATION_KEYS);
    for (const key of [
      ...Object.keys(REFUSED_NGINX_ANNOTATIONS),
      ...Object.keys(IGNORED_NGINX_ANNOTATIONS),
    ]) {
      assert.ok(documented.has(key), key);
    }
  });
  test('a refused key refuses the Ingress with an Error; an ignored key is a Warning and served', () => {
    for (const key of Object.keys(REFUSED_NGINX_ANNOTATIONS)) {
      const { config, issues } = parseIngressAnnotations({ [NGINX_PREFIX + key]: 'x' });
      assert.equal(config.refused, true, key);
      assert.equal(issues[0]?.severity, 'Error', key);
      assert.equal(issues[0]?.reason, 'UnsupportedAnnotation', key);
    }
    for (const key of Object.keys(IGNORED_NGINX_ANNOTATIONS)) {
      const { config, issues } = parseIngressAnnotations({ [NGINX_PREFIX + key]: 'x' });
      assert.equal(config.refused, false, key);
      assert.equal(issues[0]?.severity, 'Warning', key);
    }
  });
  test('the migration report says same / differs / refused / ignored per key', () => {
    const report = migrationReport({
      [`${NGINX_PREFIX}rewrite-target`]: '/$1',
      [`${NGINX_PREFIX}load-balance`]: 'ewma',
      [`${NGINX_PREFIX}auth-url`]: 'http://auth',
      [`${NGINX_PREFIX}proxy-buffering`]: 'on',
      'example.com/other': 'x',
    });
    assert.deepEqual(
      report.map((l) => [l.annotation.slice(NGINX_PREFIX.length), l.verdict]),
      [
        ['auth-url', 'refused'],
        ['load-balance', 'differs'],
        ['proxy-buffering', 'ignored'],
        ['rewrite-target', 'same'],
      ],
    );
  });
});
