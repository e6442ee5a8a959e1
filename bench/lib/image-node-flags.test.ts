import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageNodeFlags, repoImageNodeFlags } from './image-node-flags.ts';

test('the node flags between `node` and the script of the last ENTRYPOINT', () => {
  const file = [
    'FROM x AS build',
    'ENTRYPOINT ["node", "old.js"]',
    'FROM y',
    'ENTRYPOINT ["node", "--max-semi-space-size=16", "--enable-source-maps", "dist/cmd/sticky-ingress.js"]',
    'CMD ["serve"]',
  ].join('\n');
  assert.deepEqual(imageNodeFlags(file), ['--max-semi-space-size=16', '--enable-source-maps']);
  assert.deepEqual(imageNodeFlags('ENTRYPOINT ["node", "dist/cmd/sticky-ingress.js"]'), []);
  assert.throws(() => imageNodeFlags('ENTRYPOINT node x.js'), /no exec-form ENTRYPOINT/);
  assert.throws(() => imageNodeFlags('ENTRYPOINT ["tini", "--", "node"]'), /does not start node/);
});

test("the repository's image bounds V8's young generation (issue 13 item 4)", () => {
  const repo = new URL('../../', import.meta.url).pathname;
  assert.ok(repoImageNodeFlags(repo).includes('--max-semi-space-size=16'));
});
