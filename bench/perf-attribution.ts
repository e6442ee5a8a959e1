/**
 * Where a Node proxy's CPU goes, from `perf record -g` (real CPU samples, unlike the .cpuprofile's wall-time
 * sampling, which inflates syscall frames whenever the process is preempted). Each sample is charged to:
 * - `kernel <syscall>`: a kernel leaf, by the libc wrapper that entered the kernel (writev, read, epoll_pwait...);
 * - the nearest JavaScript frame above the leaf, by file (`ours src/...`, `node node:_http_server`, `deps ...`),
 *   so V8 builtins, IC stubs and runtime calls count for the JavaScript that called them;
 * - `gc` for the collectors, `native` for the rest (libuv, V8 or node with no JavaScript above).
 * Then the inclusive share of each of our functions (a sample counts once per distinct function on its stack).
 * Usage: perf script -i perf.data -F ip,sym,dso | node bench/perf-attribution.ts [N]
 *   `cpu-per-request.ts --perf DIR` records perf.data for the sticky contestants (node --perf-basic-prof).
 */
import { readFileSync } from 'node:fs';

export interface Frame {
  sym: string;
  dso: string;
}

/** The samples of `perf script -F ip,sym,dso` output: one stack per sample, leaf first. */
export function parseSamples(text: string): Frame[][] {
  const samples: Frame[][] = [];
  let cur: Frame[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') {
      if (cur.length > 0) samples.push(cur);
      cur = [];
      continue;
    }
    // `ffffffff8207c737 tcp_ack ([kernel.kallsyms])`: address, symbol (may hold spaces), dso in parentheses.
    const m = /^[0-9a-f]+ (.*?) ?\(([^()]*)\)$/.exec(t);
    if (m === null) continue;
    cur.push({ sym: (m[1] as string).replace(/\+0x[0-9a-f]+$/, ''), dso: m[2] as string });
  }
  if (cur.length > 0) samples.push(cur);
  return samples;
}

const isKernel = (f: Frame) => f.dso.includes('kernel');
/** A JavaScript frame of --perf-basic-prof: `JS:*'name file:line:col` (or `LazyCompile:` on older V8). */
const jsUrl = (f: Frame): string | undefined => {
  const m = /^(?:JS|LazyCompile|Function):[*~^+]?'?\S* ?(\S+?):\d+:\d+$/.exec(f.sym);
  return m?.[1];
};
const GC = /Scavenge|Heap::|MarkCompact|Sweeper|ConcurrentMarking|MinorMark|GCTracer|heap::base/;

/** The bucket a sample is charged to (see the file comment). */
export function bucketOf(stack: readonly Frame[], repo: string): string {
  const leaf = stack[0];
  if (leaf === undefined) return 'native';
  if (isKernel(leaf)) {
    const entry = stack.find((f) => !isKernel(f));
    return `kernel ${entry === undefined ? '(no user frame)' : entry.sym.replace(/^__GI___|^__libc_|^__/, '')}`;
  }
  for (const f of stack) {
    if (GC.test(f.sym)) return 'gc';
    const url = jsUrl(f);
    if (url === undefined) continue;
    if (url.includes(`${repo}/src/`)) return `ours ${url.slice(url.indexOf('/src/') + 1)}`;
    if (url.includes('/node_modules/')) return `deps ${url.slice(url.lastIndexOf('/node_modules/') + 14)}`;
    if (url.startsWith('node:')) return `node ${url}`;
    return `other ${url}`;
  }
  return 'native';
}

/** Share of samples per bucket, and inclusive share per function of ours, biggest first. */
export function attribute(
  samples: readonly (readonly Frame[])[],
  repo: string,
): { buckets: [string, number][]; ours: [string, number][] } {
  const buckets = new Map<string, number>();
  const ours = new Map<string, number>();
  for (const stack of samples) {
    const b = bucketOf(stack, repo);
    buckets.set(b, (buckets.get(b) ?? 0) + 1);
    const seen = new Set<string>();
    for (const f of stack) {
      const url = jsUrl(f);
      if (url === undefined || !url.includes(`${repo}/src/`)) continue;
      const name = f.sym.replace(/^(?:JS|LazyCompile|Function):[*~^+]?'?/, '').replace(`file://${repo}/`, '');
      if (seen.has(name)) continue;
      seen.add(name);
      ours.set(name, (ours.get(name) ?? 0) + 1);
    }
  }
  const n = Math.max(1, samples.length);
  const sorted = (m: Map<string, number>) =>
    [...m].map(([k, v]): [string, number] => [k, v / n]).sort((a, b) => b[1] - a[1]);
  return { buckets: sorted(buckets), ours: sorted(ours) };
}

if (import.meta.main) {
  const limit = Number(process.argv[2] ?? '40');
  const repo = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
  const samples = parseSamples(readFileSync(0, 'utf8'));
  const { buckets, ours } = attribute(samples, repo);
  const pct = (v: number) => `${(100 * v).toFixed(1).padStart(5)}%`;
  const groups = new Map<string, number>();
  for (const [k, v] of buckets) {
    const g = k.split(' ')[0] as string;
    groups.set(g, (groups.get(g) ?? 0) + v);
  }
  console.log(`${samples.length} samples; by kind:`);
  for (const [g, v] of [...groups].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(v)}  ${g}`);
  console.log('by bucket (a JavaScript frame takes the builtins and runtime it called):');
  for (const [k, v] of buckets.slice(0, limit)) console.log(`  ${pct(v)}  ${k}`);
  console.log('inclusive, functions of src/:');
  for (const [k, v] of ours.slice(0, limit)) console.log(`  ${pct(v)}  ${k}`);
}
