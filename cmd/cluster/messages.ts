import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { StatsReport } from '../../src/dataplane/observe/stats-model.ts';
import type { Snapshot } from '../../src/snapshot/index.ts';
import type { DataplaneConfig } from '../dataplane-side.ts';
import type { SnapshotDelta } from './snapshot-delta.ts';

/**
 * The IPC protocol between the `serve --workers N` primary and its dataplane workers. Every message is plain
 * JSON (node:cluster's default serialization); `t` tells the kind.
 */

/** Primary -> worker: everything a worker needs, once, right after fork. */
export interface InitMessage {
  t: 'init';
  config: DataplaneConfig;
  logLevel: string;
  /** The affinity key, base64: read (or generated) once in the primary so every worker signs alike. */
  affinityKey: string;
  /** The live snapshot for a replacement worker; applied before it listens, so it never serves a 404 gap. */
  snapshot?: Snapshot;
}

/** Primary -> worker: a new snapshot version. */
export interface SnapshotMessage {
  t: 'snapshot';
  snapshot: Snapshot;
}

/** Primary -> worker: a change to the last snapshot sent, as what changed (snapshot-delta.ts). */
export interface DeltaMessage extends SnapshotDelta {
  t: 'delta';
}

/** Primary -> worker: answer with a CollectedMessage carrying the same id. */
export interface CollectMessage {
  t: 'collect';
  id: number;
  what: 'metrics' | 'stats';
}

/** Primary -> worker: drain (drainTimeoutMs) and exit 0. */
export interface ShutdownMessage {
  t: 'shutdown';
  drainTimeoutMs: number;
}

export type ToWorker = InitMessage | SnapshotMessage | DeltaMessage | CollectMessage | ShutdownMessage;

/** Worker -> primary: both listeners are bound (the ports are the same in every worker). */
export interface ListeningMessage {
  t: 'listening';
  ports: { http: number; https: number };
}

/** Worker -> primary: snapshot `version` is live in this worker. */
export interface AppliedMessage {
  t: 'applied';
  version: number;
}

/** Worker -> primary: the answer to CollectMessage `id`; `metrics` or `stats` per what was asked. */
export interface CollectedMessage {
  t: 'collected';
  id: number;
  metrics?: MetricObjectWithValues<MetricValue<string>>[];
  stats?: StatsReport;
}

/** Worker -> primary: a delta did not match this worker's snapshot; send the whole live one. */
export interface ResyncMessage {
  t: 'resync';
}

/** Worker -> primary: start-up failed (e.g. a port in use); the worker exits 1 after sending it. */
export interface FailedMessage {
  t: 'failed';
  message: string;
}

export type FromWorker = ListeningMessage | AppliedMessage | CollectedMessage | FailedMessage | ResyncMessage;
