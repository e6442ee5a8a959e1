/**
 * CPU of the access log's destination alone (issue 13, PERF-NOTES "Redirects"): pino's asynchronous destination
 * (SonicBoom) writing 32 KiB batches of access-log lines to /dev/null, as the access log hands them over, in
 * utf8 mode (what `serve` uses: SonicBoom encodes each batch more than once) and in buffer mode (one
 * `Buffer.from` per batch), alternated. The figure includes the thread-pool write; pin it to one core.
 * Usage: taskset -c 0 node bench/access-log-destination.ts [--batches 20000] [--repeat 3]
 */
import { parseArgs } from 'node:util';
import pino from 'pino';

const { values: args } = parseArgs({
  options: { batches: { type: 'string', default: '20000' }, repeat: { type: 'string', default: '3' } },
});
const LINE =
  '{"log":"access","time":"2026-11-29T18:00:00.123Z","client":"127.0.0.1","host":"http.bench","method":"GET",' +
  '"path":"/","status":200,"bytesIn":0,"bytesOut":3,"connectMs":0.1,"responseMs":0.3,"totalMs":0.5,' +
  '"route":"r","backend":"b","endpoint":"e","source":"ns/x","affinity":"new","retries":0,"tls":"","sni":"",' +
  '"tunnel":false,"proto":"h1"}\n';
const PER_BATCH = Math.ceil((32 * 1024) / LINE.length);
const BATCH = LINE.repeat(PER_BATCH);

/** CPU µs per batch, one batch per event-loop turn as the access log's flushes come. */
async function run(mode: 'utf8' | 'buffer', n: number): Promise<number> {
  const dest = pino.destination({
    dest: '/dev/null',
    sync: false,
    ...(mode === 'buffer' ? { contentMode: 'buffer' as const } : {}),
  });
  await new Promise((resolve) => dest.once('ready', resolve));
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    dest.write((mode === 'buffer' ? Buffer.from(BATCH) : BATCH) as string);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => {
    dest.once('close', resolve);
    dest.end();
  });
  const c = process.cpuUsage(t0);
  return (c.user + c.system) / n;
}

for (let k = 0; k < Number(args.repeat); k++) {
  for (const mode of ['utf8', 'buffer'] as const) {
    const us = await run(mode, Number(args.batches));
    console.log(
      `${mode.padEnd(6)} ${us.toFixed(1)} µs CPU per batch of ${PER_BATCH} lines (${(us / PER_BATCH).toFixed(2)} per line)`,
    );
  }
}
