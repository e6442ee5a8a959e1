/** One measured case of a micro-benchmark: `run()` makes `calls` calls and returns a value to keep them live. */
export type Case = { name: string; calls: number; run: () => number };

/**
 * Runs each case of `current` and `base` (the same cases from two checkouts, by position) `repeat` times,
 * interleaved, and prints the median process CPU per call of each side: CPU time, not wall time, so the
 * neighbours of a shared machine move it less (bench/micro-hot-path.ts, bench/micro-front.ts).
 */
export function printInterleavedAB(
  sides: { current: readonly Case[]; base: readonly Case[] },
  repeat: number,
  nameWidth: number,
): void {
  for (let c = 0; c < sides.current.length; c++) {
    const ns: Record<'current' | 'base', number[]> = { current: [], base: [] };
    for (let round = 0; round < repeat; round++) {
      for (const side of ['current', 'base'] as const) {
        const k = sides[side][c] as Case;
        const t = process.cpuUsage();
        k.run();
        const d = process.cpuUsage(t);
        ns[side].push(((d.user + d.system) * 1000) / k.calls);
      }
    }
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
    const name = (sides.current[c] as Case).name;
    console.log(
      `${name.padEnd(nameWidth)} current ${median(ns.current).toFixed(0)} ns, ` +
        `base ${median(ns.base).toFixed(0)} ns per call (medians of ${repeat})`,
    );
  }
}
