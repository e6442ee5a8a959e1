import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { AdminServer } from '../../src/admin/admin-server.ts';
import { ControllerMetrics } from '../../src/controller/observe/controller-metrics.ts';
import { sendUncached } from '../../src/dataplane/observe/observability.ts';
import { renderStatsPage } from '../../src/dataplane/observe/stats-page.ts';
import { createRegistry } from '../../src/shared/metrics-registry.ts';
import type { AffinityKey } from '../affinity-key.ts';
import type { ServeConfig } from '../config.ts';
import type { ProcessLogger } from '../logger.ts';
import { createPublisher } from '../publisher.ts';
import { waitForSignals } from '../signals.ts';
import { type RunningSource, startSource } from '../source.ts';
import { mergeStats } from './aggregate.ts';
import { WorkerPool } from './worker-pool.ts';

/** How long /metrics and /stats wait for a worker's answer before leaving it out. */
const COLLECT_TIMEOUT_MS = 2_000;

/**
 * `serve --workers N`: this process runs the configuration side once (folder or cluster controller, leader
 * election, status) and the admin listener; N node:cluster workers run the dataplanes on shared listeners and
 * get every snapshot over IPC. /readyz is ready once every worker applied the first snapshot.
 */
export async function runPrimary(
  config: ServeConfig,
  affinity: AffinityKey,
  log: ProcessLogger,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { logger } = log;
  // Shared listening handles (workers accept themselves) unless NODE_CLUSTER_SCHED_POLICY=rr. Measured on
  // Linux, 2 workers, 2 CPUs (noisy): keep-alive requests equal (~24k req/s either way), a connection per
  // request 13.5k req/s shared vs 6.3k round-robin, whose primary accepts and hands over every connection
  // (and would stall accepts while it builds a large snapshot). The cost: the kernel spreads connections
  // less evenly (about 1:2 in that run).
  if (env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE;
  const registry = config.metrics ? createRegistry() : undefined;
  const metrics = registry ? new ControllerMetrics(registry) : undefined;
  const pool = new WorkerPool({
    count: config.workers,
    init: { config, logLevel: config.logLevel, affinityKey: affinity.key.toString('base64') },
    logger,
    onApplied: (version) => {
      metrics?.swap(version, new Date());
      logger.info({ version, workers: pool.pids.length }, 'snapshot applied');
    },
  });
  const state: { draining: boolean; source: RunningSource | undefined } = {
    draining: false,
    source: undefined,
  };
  const admin = new AdminServer({
    bindAddress: config.adminBindAddress,
    port: config.adminPort,
    ready: () => pool.ready && !state.draining && (state.source?.ready?.() ?? true),
    logger,
  });
  try {
    await pool.start();
    if (registry) routeObservability(admin, pool, registry);
    await admin.start();
  } catch (err) {
    await pool.close(0);
    await admin.close();
    log.flushSync();
    throw err;
  }
  const { http, https } = pool.ports;
  logger.info(
    { bindAddress: config.bindAddress, http, https, admin: admin.port, workers: config.workers },
    'listening',
  );
  const publisher = createPublisher(config, (snapshot) => pool.broadcast(snapshot));
  const stopped = waitForSignals(config, state, log, async () => {
    // Drain first (issue 10 item 10); the controller's status and Lease clean-up runs alongside, not before.
    logger.info({ workers: pool.pids }, 'draining connections');
    const drained = pool.close(config.drainTimeout);
    await state.source?.close();
    await publisher.close();
    await drained;
    await admin.close();
    logger.info('stopped');
  });
  try {
    state.source = await startSource(config, publisher, logger, metrics);
  } catch (err) {
    await pool.close(0);
    await publisher.close();
    await admin.close();
    log.flushSync();
    throw err;
  }
  return stopped;
}

/** /metrics: the primary's registry and every worker's, aggregated; /stats and /stats.json: workers summed. */
function routeObservability(admin: AdminServer, pool: WorkerPool, registry: Registry): void {
  admin.route('/metrics', async (_req, res) => {
    const workers = await pool.collect('metrics', COLLECT_TIMEOUT_MS);
    const all = [await registry.getMetricsAsJSON(), ...workers.map((w) => w.m.metrics ?? [])];
    const body = await AggregatorRegistry.aggregate(all).metrics();
    sendUncached(res, registry.contentType, body);
  });
  const stats = async () => {
    const workers = await pool.collect('stats', COLLECT_TIMEOUT_MS);
    return mergeStats(
      workers.flatMap((w) => (w.m.stats ? [{ pid: w.pid, stats: w.m.stats }] : [])),
      new Date(),
    );
  };
  admin.route('/stats.json', async (_req, res) => {
    sendUncached(res, 'application/json; charset=utf-8', JSON.stringify(await stats()));
  });
  admin.route('/stats', async (_req, res) => {
    sendUncached(res, 'text/html; charset=utf-8', renderStatsPage(await stats()), {
      'content-security-policy':
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
    });
  });
}
