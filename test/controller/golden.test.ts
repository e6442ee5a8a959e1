/**
 * Golden builder cases: every folder under `cases/` holds `input.yaml` (Kubernetes objects, multi-document),
 * optionally `options.json` (merged over BASE_OPTIONS), and `expected.json` (the build result: snapshot body,
 * diagnostics, statuses). The folder name says the rule the case pins down.
 *
 * To (re)write expected files after an intended change: `UPDATE_GOLDEN=1 node --test test/controller/golden.test.ts`,
 * then read every changed expected.json (git diff) before committing: a golden file only proves what you checked.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { build } from '../../src/controller/build/index.ts';
import { canonicalJson } from '../../src/snapshot/hash.ts';
import { BASE_OPTIONS, viewFromFile } from './golden-support.ts';

const CASES = join(import.meta.dirname, 'cases');
const update = process.env.UPDATE_GOLDEN === '1';

for (const name of readdirSync(CASES).sort()) {
  test(name, () => {
    const dir = join(CASES, name);
    const optionsFile = join(dir, 'options.json');
    const options = existsSync(optionsFile)
      ? { ...BASE_OPTIONS, ...JSON.parse(readFileSync(optionsFile, 'utf8')) }
      : BASE_OPTIONS;
    const result = build(viewFromFile(join(dir, 'input.yaml')), options);
    const actual = `${JSON.stringify(JSON.parse(canonicalJson(result)), null, 2)}\n`;
    const expectedFile = join(dir, 'expected.json');
    if (update) writeFileSync(expectedFile, actual);
    assert.ok(existsSync(expectedFile), `${expectedFile} missing: run with UPDATE_GOLDEN=1 and review it`);
    // Compared as data: Biome may lay out short arrays differently from JSON.stringify.
    const expected = `${JSON.stringify(JSON.parse(readFileSync(expectedFile, 'utf8')), null, 2)}\n`;
    assert.equal(actual, expected);
  });
}
