import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The node flags the image starts sticky-ingress with: the Dockerfile's last `ENV NODE_OPTIONS=...` (an
 * environment variable, so the chart's `extraEnv` can replace it). The bench runs the product with them, so
 * it measures what a `helm install` runs (one place decides them: the Dockerfile).
 */
export function imageNodeFlags(dockerfile: string): string[] {
  const line = dockerfile
    .split('\n')
    .filter((l) => /^ENV\s+NODE_OPTIONS=/.test(l))
    .at(-1);
  if (line === undefined) return [];
  const value = line.replace(/^ENV\s+NODE_OPTIONS=/, '').trim();
  const unquoted = /^".*"$/.test(value) ? (JSON.parse(value) as string) : value;
  return unquoted.split(/\s+/).filter((f) => f !== '');
}

/** imageNodeFlags of the repository's Dockerfile at `repo`. */
export function repoImageNodeFlags(repo: string): string[] {
  return imageNodeFlags(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
}
