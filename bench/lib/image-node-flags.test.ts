import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { imageNodeFlags, repoImageNodeFlags } from './image-node-flags.ts';

test("the node flags of the Dockerfile's last NODE_OPTIONS", () => {
  const file = [
    'FROM x AS build',
    'ENV NODE_OPTIONS=--max-old-space-size=4096',
    'FROM y',
    'ENV NODE_OPTIONS="--max-semi-space-size=16 --enable-source-maps"',
    'ENTRYPOINT ["node", "dist/cmd/sticky-ingress.js"]',
  ].join('\n');
  assert.deepEqual(imageNodeFlags(file), ['--max-semi-space-size=16', '--enable-source-maps']);
  assert.deepEqual(imageNodeFlags('ENV NODE_OPTIONS=--max-semi-space-size=16\n'), [
    '--max-semi-space-size=16',
  ]);
  assert.deepEqual(imageNodeFlags('ENTRYPOINT ["node", "dist/cmd/sticky-ingress.js"]'), []);
});

test("the repository's image bounds V8's young generation (issue 13 item 4)", () => {
  const repo = new URL('../../', import.meta.url).pathname;
  assert.deepEqual(repoImageNodeFlags(repo), ['--max-semi-space-size=16']);
});

test("`npm run bench:control` runs the in-process dataplane with the image's node flags", () => {
  const repo = new URL('../../', import.meta.url).pathname;
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  for (const flag of repoImageNodeFlags(repo)) assert.ok(pkg.scripts['bench:control']?.includes(flag), flag);
});
