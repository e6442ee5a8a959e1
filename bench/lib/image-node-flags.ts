import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The node flags the image starts sticky-ingress with: the arguments between `node` and the script in the
 * Dockerfile's last exec-form ENTRYPOINT. The bench runs the product with them, so it measures what a
 * `helm install` runs (one place decides them: the Dockerfile).
 */
export function imageNodeFlags(dockerfile: string): string[] {
  const entry = dockerfile
    .split('\n')
    .filter((l) => /^ENTRYPOINT\s+\[/.test(l))
    .at(-1);
  if (entry === undefined) throw new Error('Dockerfile: no exec-form ENTRYPOINT');
  const argv = JSON.parse(entry.replace(/^ENTRYPOINT\s+/, '')) as string[];
  if (argv[0] !== 'node') throw new Error(`Dockerfile ENTRYPOINT does not start node: ${entry}`);
  const script = argv.findIndex((a, i) => i > 0 && !a.startsWith('-'));
  return argv.slice(1, script === -1 ? argv.length : script);
}

/** imageNodeFlags of the repository's Dockerfile at `repo`. */
export function repoImageNodeFlags(repo: string): string[] {
  return imageNodeFlags(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
}
