import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

const SCRIPT = 'scripts/ensure-test-deps.sh';

describe('npm test brings its browser (scripts/ensure-test-deps.sh)', () => {
  test('npm test runs it first', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.pretest, `bash ${SCRIPT}`);
  });

  test('without Chromium and without apt-get it fails at once with the exact command', () => {
    const r = spawnSync('bash', [SCRIPT], {
      env: { ...process.env, CHROMIUM: '/nonexistent/chromium', APT_GET: '/nonexistent/apt-get' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium/);
  });

  test('with Chromium present it does nothing and succeeds', () => {
    const r = spawnSync('bash', [SCRIPT], {
      env: { ...process.env, CHROMIUM: '/bin/sh', APT_GET: '/nonexistent/apt-get' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0);
    assert.equal(r.stderr, '');
  });
});
