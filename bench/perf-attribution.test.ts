import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attribute, bucketOf, parseSamples } from './perf-attribution.ts';

const REPO = '/work/main';
// Three samples as `perf script -F ip,sym,dso` prints them (leaf first, blank line between samples).
const TEXT = `
\tffffffff8207c737 tcp_ack ([kernel.kallsyms])
\tffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
\t           fde9d __GI___writev (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t         1f2a0c0 node::StreamBase::Writev (/usr/bin/node)
\t    7f00a0001000 JS:*'Socket._writeGeneric node:net:1231:42 ([JIT] tid 3263)
\t    7f00a0002000 JS:*'#bodyBytes file:///work/main/src/dataplane/upstream/h1-client.ts:297:13 ([JIT] tid 3263)

\t         2b3c4d5 Builtins_RegExpPrototypeTestFast (/usr/bin/node)
\t    7f00a0003000 JS:*'parseHead file:///work/main/src/dataplane/upstream/h1-parser.ts:81:19 ([JIT] tid 3263)
\t    7f00a0004000 JS:*'#parseHead file:///work/main/src/dataplane/upstream/h1-client.ts:269:13 ([JIT] tid 3263)
\t    7f00a0002000 JS:*'#bodyBytes file:///work/main/src/dataplane/upstream/h1-client.ts:297:13 ([JIT] tid 3263)

\t         3c4d5e6 v8::internal::ScavengerCollector::CollectGarbage (/usr/bin/node)
\t    7f00a0003000 JS:*'parseHead file:///work/main/src/dataplane/upstream/h1-parser.ts:81:19 ([JIT] tid 3263)
`;

test('perf script samples parse leaf first, with the dso of each frame', () => {
  const samples = parseSamples(TEXT);
  assert.equal(samples.length, 3);
  assert.deepEqual(samples[0]?.[0], { sym: 'tcp_ack', dso: '[kernel.kallsyms]' });
  assert.equal(samples[0]?.[2]?.sym, '__GI___writev');
  assert.equal(samples[1]?.[0]?.dso, '/usr/bin/node');
});

test('a kernel leaf is charged to the syscall wrapper, a builtin to the JavaScript that called it', () => {
  const [kernel, builtin, gc] = parseSamples(TEXT);
  assert.equal(bucketOf(kernel ?? [], REPO), 'kernel writev');
  assert.equal(bucketOf(builtin ?? [], REPO), 'ours src/dataplane/upstream/h1-parser.ts');
  assert.equal(bucketOf(gc ?? [], REPO), 'gc');
});

test('inclusive shares count a function once per sample, and only functions of src/', () => {
  const { buckets, ours } = attribute(parseSamples(TEXT), REPO);
  assert.equal(buckets.length, 3);
  const share = new Map(ours);
  assert.equal(share.get('#bodyBytes src/dataplane/upstream/h1-client.ts:297:13'), 2 / 3);
  assert.equal(share.get('parseHead src/dataplane/upstream/h1-parser.ts:81:19'), 2 / 3);
  assert.equal(share.get('#parseHead src/dataplane/upstream/h1-client.ts:269:13'), 1 / 3);
  assert.ok(![...share.keys()].some((k) => k.includes('node:net')));
});
