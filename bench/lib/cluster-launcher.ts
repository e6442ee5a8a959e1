/**
 * Bench-only launcher: `sticky-ingress serve` in N node:cluster workers sharing the listeners (the CLI has
 * no --workers flag yet). Every worker reads the same --affinity-key-file, so cookies agree across workers.
 * Usage: node bench/lib/cluster-launcher.ts WORKERS serve --manifests DIR ...
 */
import cluster from 'node:cluster';
import { runServe } from '../../cmd/serve.ts';

const [countArg, command, ...argv] = process.argv.slice(2);
if (cluster.isPrimary) {
  const count = Number(countArg);
  for (let i = 0; i < count; i++) cluster.fork();
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGKILL');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  cluster.on('exit', (w, code) => console.error(`worker ${w.process.pid} exited (${code})`));
} else {
  if (command !== 'serve') throw new Error('usage: cluster-launcher.ts WORKERS serve [flags]');
  const io = {
    out: (s: string) => process.stdout.write(`${s}\n`),
    err: (s: string) => process.stderr.write(`${s}\n`),
  };
  process.exitCode = await runServe(argv, process.env, io);
}
