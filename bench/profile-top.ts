/**
 * Self time per function of a V8 .cpuprofile (from `node --cpu-prof`, or bench/cpu-per-request.ts --profile),
 * biggest first, plus the same grouped by file. Usage: node bench/profile-top.ts FILE.cpuprofile [N]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, n = '40'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: node bench/profile-top.ts FILE.cpuprofile [N]');
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((x) => [x.id, x]));
const self = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) {
  const id = p.samples[i] as number;
  self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
}
const fn = new Map<string, number>();
const files = new Map<string, number>();
let total = 0;
for (const [id, us] of self) {
  const f = (byId.get(id) as Node).callFrame;
  if (f.functionName === '(idle)' || f.functionName === '(program)') {
    fn.set(f.functionName, (fn.get(f.functionName) ?? 0) + us);
    continue;
  }
  total += us;
  const short = f.url.replace(/^.*\/(node_modules\/)?/, '');
  const key = `${f.functionName || '(anonymous)'} ${short}:${f.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const group = f.url === '' ? `(${f.functionName})` : f.url.replace(/^.*\/node_modules\//, '');
  files.set(group, (files.get(group) ?? 0) + us);
}
const show = (m: Map<string, number>, limit: number) => {
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    console.log(
      `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`,
    );
  }
};
console.log(`busy (excluding idle/program): ${(total / 1000).toFixed(0)} ms`);
show(fn, Number(n));
console.log('\nby file:');
show(files, 25);

// Inclusive time: a sample counts once for every distinct function on its stack.
const parent = new Map<number, number>();
for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
const keyOf = (x: Node) => {
  const f = x.callFrame;
  return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules\/)?/, '')}:${f.lineNumber + 1}`;
};
const incl = new Map<string, number>();
for (const [id, us] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = keyOf(byId.get(cur) as Node);
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + us);
  }
}
console.log('\ninclusive:');
show(new Map([...incl].filter(([k]) => !k.startsWith('(root)') && !k.startsWith('(idle)'))), Number(n));
