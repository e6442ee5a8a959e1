import type { ScenarioId } from './contestants.ts';
import type { Figures } from './scenarios.ts';
import { median } from './stats.ts';

/** One run's figures, as recorded in the JSON output. */
export interface RunRecord {
  round: number;
  scenario: ScenarioId;
  contestant: string;
  figures: Figures;
}

/** Median of every figure per scenario and contestant: `medians[scenario][contestant][figure]`. */
export type Medians = Record<string, Record<string, Figures>>;

/**
 * Medians over rounds of each (scenario, contestant, figure), plus `rpsPerCore`: a run's req/s divided by the
 * proxy's own CPU use in that run (requests per second of one full core), so a proxy that the load core held
 * below 100% of its core is compared by what a core of it serves (issue 13 states its targets per core).
 */
export function mediansOf(records: readonly RunRecord[]): Medians {
  const grouped: Record<string, Record<string, Record<string, number[]>>> = {};
  for (const r of records) {
    grouped[r.scenario] ??= {};
    const byContestant = grouped[r.scenario] as Record<string, Record<string, number[]>>;
    byContestant[r.contestant] ??= {};
    const byFigure = byContestant[r.contestant] as Record<string, number[]>;
    const core = rpsPerCore(r.figures);
    const perCore = core === undefined ? {} : { rpsPerCore: core };
    for (const [k, v] of Object.entries({ ...r.figures, ...perCore })) {
      byFigure[k] ??= [];
      byFigure[k].push(v);
    }
  }
  const out: Medians = {};
  for (const [scenario, byContestant] of Object.entries(grouped)) {
    out[scenario] = {};
    for (const [contestant, byFigure] of Object.entries(byContestant)) {
      const figures: Figures = {};
      for (const [k, values] of Object.entries(byFigure)) figures[k] = median(values);
      (out[scenario] as Record<string, Figures>)[contestant] = figures;
    }
  }
  return out;
}

/** A run's req/s over the proxy's own CPU use in it (what one full core of it serves), when both are known. */
function rpsPerCore(f: Figures): number | undefined {
  const { rps, proxyCpu } = f;
  return rps !== undefined && proxyCpu !== undefined && proxyCpu > 0 ? rps / proxyCpu : undefined;
}

/** `paired[scenario][contestant]`: the median over rounds of a ratio taken within each round. */
export type Paired = Record<string, Record<string, number>>;

/**
 * Per scenario and contestant, the median over rounds of its req/s per proxy core divided by the baseline's in
 * the same round. The host can swing 2x within minutes, and not equally for every contestant, so a ratio of
 * two medians (the table's other rows) may pair a fast moment of one with a slow moment of the other; a run and
 * the baseline's run of the same round are seconds to a minute apart.
 */
export function pairedRatios(records: readonly RunRecord[], baseline: string): Paired {
  const out: Paired = {};
  for (const [scenario, byContestant] of Object.entries(pairedRatioRounds(records, baseline))) {
    out[scenario] = {};
    for (const [contestant, values] of Object.entries(byContestant)) {
      (out[scenario] as Record<string, number>)[contestant] = median(values);
    }
  }
  return out;
}

/** The per-round ratios pairedRatios takes the median of: `[scenario][contestant]`, one per round. */
export function pairedRatioRounds(
  records: readonly RunRecord[],
  baseline: string,
): Record<string, Record<string, number[]>> {
  const base = new Map<string, number>();
  for (const r of records) {
    const v = rpsPerCore(r.figures);
    if (r.contestant === baseline && v !== undefined) base.set(`${r.scenario} ${r.round}`, v);
  }
  const ratios: Record<string, Record<string, number[]>> = {};
  for (const r of records) {
    const v = rpsPerCore(r.figures);
    const b = base.get(`${r.scenario} ${r.round}`);
    if (r.contestant === baseline || v === undefined || b === undefined) continue;
    ratios[r.scenario] ??= {};
    const byContestant = ratios[r.scenario] as Record<string, number[]>;
    byContestant[r.contestant] ??= [];
    byContestant[r.contestant]?.push(v / b);
  }
  return ratios;
}

/** Rows of the printed table: which figure of which scenario, and its label. */
const ROWS: readonly { scenario: ScenarioId; figure: string; label: string; ratio?: false }[] = [
  { scenario: 'http', figure: 'rps', label: 'HTTP keep-alive req/s' },
  { scenario: 'http', figure: 'rpsPerCore', label: 'HTTP keep-alive req/s per proxy core' },
  { scenario: 'http', figure: 'p50Ms', label: 'HTTP p50 ms' },
  { scenario: 'http', figure: 'p99Ms', label: 'HTTP p99 ms' },
  { scenario: 'https', figure: 'rps', label: 'TLS keep-alive req/s' },
  { scenario: 'https', figure: 'rpsPerCore', label: 'TLS keep-alive req/s per proxy core' },
  { scenario: 'https', figure: 'p99Ms', label: 'TLS p99 ms' },
  { scenario: 'h2', figure: 'rps', label: 'h2 req/s (64 conns x 10 streams)' },
  { scenario: 'h2', figure: 'meanMs', label: 'h2 mean ms' },
  { scenario: 'handshake', figure: 'perSec', label: 'new TLS handshakes/s' },
  { scenario: 'redirect', figure: 'rps', label: 'HTTP->HTTPS redirects/s' },
  { scenario: 'redirect', figure: 'rpsPerCore', label: 'redirects/s per proxy core' },
  { scenario: 'ws-echo', figure: 'p50Ms', label: 'WS echo p50 ms' },
  { scenario: 'ws-echo', figure: 'p99Ms', label: 'WS echo p99 ms' },
  { scenario: 'ws-echo', figure: 'msgsPerSec', label: 'WS echo msgs/s' },
  { scenario: 'socketio', figure: 'perSec', label: 'socket.io handshakes/s' },
  { scenario: 'ws-idle', figure: 'kibPerTunnel', label: 'KiB RSS per idle WS' },
  { scenario: 'ws-idle', figure: 'returned', label: 'share of RSS returned after close', ratio: false },
];

/** The table of medians with the ratio to `baseline` in brackets, plus proxy/load core use per scenario. */
export function formatTable(
  m: Medians,
  contestants: readonly string[],
  baseline: string,
  paired: Paired = {},
): string {
  const header = ['figure (median)', ...contestants];
  const lines: string[][] = [header];
  const row = (label: string, get: (c: string) => number | undefined, ratio: boolean) => {
    const cells = contestants.map((c) => {
      const v = get(c);
      if (v === undefined || !Number.isFinite(v)) return '-';
      const base = get(baseline);
      const r =
        ratio && c !== baseline && base !== undefined && base > 0 ? ` (${(v / base).toFixed(2)}x)` : '';
      return `${fmt(v)}${r}`;
    });
    lines.push([label, ...cells]);
  };
  for (const r of ROWS) {
    if (m[r.scenario] !== undefined) row(r.label, (c) => m[r.scenario]?.[c]?.[r.figure], r.ratio ?? true);
    const ratios = paired[r.scenario];
    if (r.figure === 'rpsPerCore' && ratios !== undefined) {
      lines.push([
        `  per core, paired in each round (median)`,
        ...contestants.map((c) => {
          const v = ratios[c];
          return c === baseline ? '1' : v === undefined ? '-' : `${v.toFixed(2)}x`;
        }),
      ]);
    }
  }
  for (const s of [...new Set(ROWS.map((r) => r.scenario))]) {
    if (m[s] === undefined) continue;
    row(`${s}: proxy core / load core`, () => undefined, false);
    const last = lines[lines.length - 1] as string[];
    contestants.forEach((c, i) => {
      const f = m[s]?.[c];
      if (f?.proxyCpu !== undefined) last[i + 1] = `${pct(f.proxyCpu)} / ${pct(f.loadCpu ?? Number.NaN)}`;
    });
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  return lines
    .map((l) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}

function fmt(v: number): string {
  if (Math.abs(v) >= 100) return Math.round(v).toString();
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${Math.round(v * 100)}%` : '-';
}
