import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Snapshot } from '../../snapshot/index.ts';
import type { Upstreams } from '../upstream/upstreams.ts';
import { AccessLog, type AccessLogOptions } from './access-log.ts';
import { CertificateExpiry } from './cert-expiry.ts';
import { DataplaneMetrics } from './dataplane-metrics.ts';
import { RouteTable } from './route-table.ts';
import { StatsModel, type StatsReport } from './stats-model.ts';
import { renderStatsPage } from './stats-page.ts';
import { TrafficObserver } from './traffic-observer.ts';

/** What observability reads from the dataplane; `Dataplane` satisfies it. */
export interface ObservedDataplane {
  readonly current: Snapshot;
  readonly upstreams: Pick<Upstreams, 'backend' | 'backends'>;
}

/** Options of createObservability. */
export interface ObservabilityOptions {
  /** One registry per process (see src/observe/registry.ts); the dataplane metrics are added to it. */
  registry: Registry;
  /** Access log settings; omitted or `false`: no access log. */
  accessLog?: AccessLogOptions | false;
  /** Clock for /stats timestamps and rates; Date.now by default. */
  now?: () => number;
}

/** An admin handler (same shape as AdminServer's). */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Anything with AdminServer's route() (kept structural so this module does not import the server). */
export interface RouteRegistrar {
  route(path: string, handler: Handler): void;
}

/**
 * The dataplane's observability: metrics, access log and the stats page. Create it before the Dataplane
 * (pass `dataplane` as its `observer`), then attach() the Dataplane, then routes() on the admin server.
 */
export class Observability {
  /** The DataplaneObserver to pass as the Dataplane's `observer` option. */
  readonly dataplane: TrafficObserver;
  readonly accessLog: AccessLog | undefined;
  readonly registry: Registry;
  #source: ObservedDataplane | undefined;
  #certs: CertificateExpiry;
  #model: StatsModel;

  constructor(options: ObservabilityOptions) {
    this.registry = options.registry;
    let table: RouteTable | undefined;
    const metrics = new DataplaneMetrics(options.registry, {
      backends: () => this.#source?.upstreams.backends() ?? [],
      openTunnels: (b, e) => table?.openTunnels(b, e) ?? 0,
    });
    table = new RouteTable(metrics);
    this.accessLog = options.accessLog ? new AccessLog(options.accessLog) : undefined;
    this.dataplane = new TrafficObserver(metrics, table, this.accessLog, () => this.#source?.current);
    this.#certs = new CertificateExpiry(options.registry, () => this.#sync());
    this.#model = new StatsModel(table, this.#certs, this.dataplane.tls, options.now);
  }

  /** Connects the dataplane whose snapshot and pools the metrics and stats read. */
  attach(dataplane: ObservedDataplane): void {
    this.#source = dataplane;
    this.#sync();
  }

  /** The /stats.json document now. */
  report(): StatsReport {
    this.#sync();
    return this.#model.report(this.#source);
  }

  /** GET /metrics: the registry in Prometheus text format. */
  readonly metricsHandler: Handler = async (_req, res) => {
    this.#sync();
    const body = await this.registry.metrics();
    sendUncached(res, this.registry.contentType, body);
  };

  /** GET /stats: the HTML page. */
  readonly statsHandler: Handler = (_req, res) => {
    sendUncached(res, 'text/html; charset=utf-8', renderStatsPage(this.report()), {
      // Only inline script and style of this document, fetches back to the admin listener; no framing.
      'content-security-policy':
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
    });
  };

  /** GET /stats.json. */
  readonly statsJsonHandler: Handler = (_req, res) => {
    sendUncached(res, 'application/json; charset=utf-8', JSON.stringify(this.report()));
  };

  /** Registers /metrics, /stats and /stats.json. /healthz and /readyz are the admin server's and untouched. */
  routes(admin: RouteRegistrar): void {
    admin.route('/metrics', this.metricsHandler);
    admin.route('/stats', this.statsHandler);
    admin.route('/stats.json', this.statsJsonHandler);
  }

  /** Flushes and closes the access log. */
  async close(): Promise<void> {
    await this.accessLog?.close();
  }

  #sync(): void {
    const s = this.#source?.current;
    if (s === undefined) return;
    this.dataplane.sync();
    this.#certs.update(s);
  }
}

/** Creates the observability of one dataplane; see Observability. */
export function createObservability(options: ObservabilityOptions): Observability {
  return new Observability(options);
}

/** A 200 admin answer that no cache keeps (/metrics, /stats, /stats.json); the `--workers` primary uses it too. */
export function sendUncached(
  res: ServerResponse,
  type: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(200, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(body);
}
