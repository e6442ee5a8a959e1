import { migrationReport } from '../src/controller/annotations/migration.ts';
import { type BuildResult, build } from '../src/controller/build/index.ts';
import { type FolderLoad, ManifestFolder } from '../src/controller/manifests/index.ts';
import type { ClusterView } from '../src/controller/view.ts';
import { ManifestFolderError, UsageError } from '../src/shared/errors.ts';
import { parseCommand } from './args.ts';
import { buildKeys, helpText } from './help.ts';
import { formatDiagnostic, formatProblem } from './report.ts';

/** Output sink of a subcommand; the entry point passes process.stdout/stderr, tests may pass buffers. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/**
 * `sticky-ingress check DIR`: load and build offline, print every parse problem and diagnostic.
 * Resolves to the exit code: 1 when there is any problem, 0 with a summary otherwise.
 */
export async function runCheck(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const cmd = parseCommand(argv, env, buildKeys);
  if (cmd.help) {
    io.out(helpText('check'));
    return 0;
  }
  const dir = singleDir(cmd.positionals, 'check');
  const load = await loadOnce(dir);
  const result = build(load.view, { ...cmd.settings, allowLoopbackEndpoints: true });
  for (const p of load.problems) io.out(formatProblem(p));
  for (const d of result.diagnostics) io.out(formatDiagnostic(d));
  for (const line of migrationLines(load.view, result)) io.out(line);
  const count = load.problems.length + result.diagnostics.length;
  const routes = result.body.hosts.reduce((n, h) => n + h.routes.length, 0);
  const summary = `${load.files} files, ${load.objects} objects: ${result.body.hosts.length} hosts, ${routes} routes, ${result.body.backends.length} backends`;
  if (count > 0) {
    io.out(`${count} problem${count === 1 ? '' : 's'} (${summary})`);
    return 1;
  }
  io.out(`ok: ${summary}`);
  return 0;
}

const PAD = { same: 'same    ', differs: 'differs ', refused: 'refused ', ignored: 'ignored ' } as const;

/**
 * The migration report (issue 15, item 10): for each Ingress of our class carrying ingress-nginx annotations,
 * a verdict (same / differs / refused) and one line per key saying whether it behaves the same here.
 */
export function migrationLines(view: ClusterView, result: BuildResult): string[] {
  const out: string[] = [];
  const byName = new Map(view.ingresses.map((i) => [`${i.metadata?.namespace}/${i.metadata?.name}`, i]));
  for (const status of result.statuses) {
    if (status.kind !== 'Ingress') continue;
    const annotations = byName.get(`${status.namespace}/${status.name}`)?.metadata?.annotations ?? {};
    const lines = migrationReport(annotations);
    if (lines.length === 0) continue;
    const refused = !status.accepted || lines.some((l) => l.verdict === 'refused');
    const verdict = refused ? 'refused' : lines.every((l) => l.verdict === 'same') ? 'same' : 'differs';
    out.push(`migration Ingress ${status.namespace}/${status.name}: ${verdict}`);
    for (const l of lines) out.push(`  ${PAD[l.verdict]} ${l.annotation}${l.note ? `: ${l.note}` : ''}`);
  }
  return out;
}

/** The one DIR positional of check and explain. */
export function singleDir(positionals: readonly string[], command: string): string {
  if (positionals.length !== 1 || positionals[0] === undefined) {
    throw new UsageError(`${command} needs exactly one DIR argument (got ${positionals.length}); see --help`);
  }
  return positionals[0];
}

/** Reads the folder once; an unreadable folder is a usage error (exit 2), unlike problems inside it. */
export async function loadOnce(dir: string): Promise<FolderLoad> {
  try {
    return await new ManifestFolder({ dir }).load();
  } catch (err) {
    if (err instanceof ManifestFolderError) throw new UsageError(err.message);
    throw err;
  }
}
