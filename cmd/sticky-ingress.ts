#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { UsageError } from '../src/shared/errors.ts';
import type { Io } from './check.ts';
import { helpText } from './help.ts';

/** The sticky-ingress executable: `serve`, `check`, `explain`; exit 2 on a usage or configuration error. */

const io: Io = {
  out: (line) => process.stdout.write(line.endsWith('\n') ? line : `${line}\n`),
  err: (line) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`),
};

function version(): string {
  // cmd/ when run from source, dist/cmd/ when built: package.json is one or two levels up.
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'sticky-ingress' && pkg.version) return pkg.version;
    } catch {
      // Try the next candidate.
    }
  }
  return 'unknown';
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || rest.includes('--version')) {
    io.out(`sticky-ingress ${version()}`);
    return 0;
  }
  switch (command) {
    // Loaded on demand: `check` need not load the dataplane, nor `serve` the explain code.
    case 'serve':
      return (await import('./serve.ts')).runServe(rest, process.env, io);
    case 'check':
      return (await import('./check.ts')).runCheck(rest, process.env, io);
    case 'explain':
      return (await import('./explain.ts')).runExplain(rest, process.env, io);
    case 'convert':
      return (await import('./convert.ts')).runConvert(rest, process.env, io);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.out(helpText(undefined));
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(
        `unknown command ${JSON.stringify(command)}: expected serve, check, explain or convert`,
      );
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as Error & { exitCode?: number };
    io.err(`sticky-ingress: ${e.message ?? String(err)}`);
    process.exitCode = typeof e.exitCode === 'number' ? e.exitCode : 1;
  },
);
