import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Registry } from 'prom-client';
import { Dataplane, type DataplaneObserver } from '../src/dataplane/dataplane.ts';
import { AccessLog } from '../src/dataplane/observe/access-log.ts';
import { createObservability, type Observability } from '../src/dataplane/observe/observability.ts';
import type { ServeConfig } from './config.ts';
import type { ProcessLogger } from './logger.ts';

/** The settings one dataplane process needs (a worker gets exactly these from the primary). */
export type DataplaneConfig = Pick<
  ServeConfig,
  | 'bindAddress'
  | 'httpPort'
  | 'httpsPort'
  | 'publicHttpsPort'
  | 'publicHttpPort'
  | 'trustedProxies'
  | 'proxyProtocolHttp'
  | 'proxyProtocolHttps'
  | 'proxyProtocolTrusted'
  | 'http2'
  | 'tlsGroups'
  | 'maxHeaderSize'
  | 'maxClientConnections'
  | 'maxTunnels'
  | 'reclaimMemory'
  | 'maxUpstreamConnections'
  | 'upstreamClient'
  | 'requestHeaderTimeout'
  | 'keepAliveTimeout'
  | 'metrics'
  | 'accessLog'
  | 'accessLogSample'
  | 'workers'
>;

/** A Dataplane with what observes it; `observability` only with --metrics true. Not started yet. */
export interface DataplaneSide {
  dataplane: Dataplane;
  observability: Observability | undefined;
  /** Flushes and closes the access log (after the dataplane shut down). */
  close(): Promise<void>;
}

/**
 * Builds the traffic side of one process. With --metrics false the dataplane gets no observer at all, or, with
 * the access log on, one that only writes access log lines: no metrics work on the hot path either way.
 */
export function createDataplaneSide(
  config: DataplaneConfig,
  affinityKey: Buffer,
  log: ProcessLogger,
  registry: Registry | undefined,
): DataplaneSide {
  const accessLog = config.accessLog
    ? { sample: config.accessLogSample, destination: log.destination }
    : false;
  let observability: Observability | undefined;
  let observer: DataplaneObserver | undefined;
  let plainLog: AccessLog | undefined;
  if (config.metrics && registry !== undefined) {
    observability = createObservability({ registry, accessLog });
    observer = observability.dataplane;
  } else if (accessLog) {
    plainLog = new AccessLog(accessLog);
    observer = accessLogObserver(plainLog);
  }
  const dataplane = new Dataplane({
    bindAddress: config.bindAddress,
    httpPort: config.httpPort,
    httpsPort: config.httpsPort,
    ...(config.publicHttpsPort !== undefined ? { publicHttpsPort: config.publicHttpsPort } : {}),
    ...(config.publicHttpPort !== undefined ? { publicHttpPort: config.publicHttpPort } : {}),
    affinityKey,
    trustedProxies: config.trustedProxies,
    proxyProtocol: { http: config.proxyProtocolHttp, https: config.proxyProtocolHttps },
    proxyProtocolTrusted: config.proxyProtocolTrusted,
    http2: config.http2,
    ...(config.tlsGroups !== undefined ? { tlsGroups: config.tlsGroups } : {}),
    maxHeaderSize: config.maxHeaderSize,
    maxClientConnections: config.maxClientConnections,
    maxTunnels: config.maxTunnels,
    maxUpstreamConnections: config.maxUpstreamConnections,
    upstreamClient: config.upstreamClient,
    requestHeaderTimeoutMs: config.requestHeaderTimeout,
    keepAliveTimeoutMs: config.keepAliveTimeout,
    logger: log.logger,
    rateLimitShare: config.workers,
    ...(observer ? { observer } : {}),
    ...(config.reclaimMemory ? { reclaimMemory: memoryReducingGc() } : {}),
  });
  observability?.attach(dataplane);
  return {
    dataplane,
    observability,
    close: async () => {
      await observability?.close();
      await plainLog?.close();
    },
  };
}

/**
 * V8's memory-reducing full collection (the one it runs under memory pressure): it shrinks the young
 * generation and unmaps free pages, which a plain full GC does not (bench/PERF-NOTES.md, idle tunnels).
 * `--expose-gc` set at run time puts `gc` in contexts created afterwards; nothing else changes.
 */
export function memoryReducingGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: object) => void;
  return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

function accessLogObserver(log: AccessLog): DataplaneObserver {
  return {
    onRequest: (r) => log.write(r),
    onTunnelClose: (r) => log.write(r),
  };
}
