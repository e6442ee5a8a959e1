import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { AdminServer } from '../../../src/admin/admin-server.ts';
import type { DataplaneOptions } from '../../../src/dataplane/dataplane.ts';
import type { AccessLogOptions } from '../../../src/dataplane/observe/access-log.ts';
import { createObservability, type Observability } from '../../../src/dataplane/observe/observability.ts';
import type { StatsReport } from '../../../src/dataplane/observe/stats-model.ts';
import { createRegistry } from '../../../src/shared/metrics-registry.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';

/** A dataplane with observability wired as cmd/ wires it, and its admin listener on 127.0.0.1:0. */
export interface ObservedDataplane extends TestDataplane {
  obs: Observability;
  registry: Registry;
  admin: AdminServer;
  /** GET on the admin listener. */
  adminGet(path: string): Promise<{ status: number; type: string; headers: Headers; body: string }>;
  metrics(): Promise<string>;
  stats(): Promise<StatsReport>;
}

/** `now` drives the stats rates (a test clock); the access log is off unless given; `dataplane` overrides options. */
export async function startObserved(
  options: { accessLog?: AccessLogOptions; now?: () => number; dataplane?: Partial<DataplaneOptions> } = {},
): Promise<ObservedDataplane> {
  const registry = createRegistry({ processMetrics: false });
  const obs = createObservability({ registry, accessLog: options.accessLog ?? false, now: options.now });
  const t = await startDataplane({ ...options.dataplane, observer: obs.dataplane });
  obs.attach(t.dp);
  const admin = new AdminServer({
    bindAddress: '127.0.0.1',
    port: 0,
    ready: () => true,
    logger: pino({ level: 'silent' }),
  });
  obs.routes(admin);
  await admin.start();
  const adminGet = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${admin.port}${path}`);
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, type, headers: res.headers, body: await res.text() };
  };
  return {
    ...t,
    obs,
    registry,
    admin,
    adminGet,
    metrics: async () => (await adminGet('/metrics')).body,
    stats: async () => JSON.parse((await adminGet('/stats.json')).body) as StatsReport,
    close: async () => {
      await admin.close();
      await t.close();
      await obs.close();
    },
  };
}

/** The value of the sample `series` (`name{labels}` exactly as exposed), or undefined when absent. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Every sample line of metric `name` (its _bucket/_sum/_count too for a histogram). */
export function seriesOf(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name}_`) || l.startsWith(`${name} `));
}
