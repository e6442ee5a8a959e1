import type { SnapshotChanges } from '../../snapshot/delta.ts';
import type { BuildOptions } from '../view.ts';
import type { ResultDelta } from './result-delta.ts';
import type { ViewDelta } from './view-delta.ts';

/** What the build thread starts with (workerData). */
export interface BuildThreadInit {
  options: BuildOptions;
  /** The serving thread's last version: a restarted thread continues after it. */
  version: number;
}

/** Serving thread -> build thread: build the view as it is after `view` (changes since the last request). */
export interface BuildRequest {
  id: number;
  view: ViewDelta;
}

/** Build thread -> serving thread: one build's outcome, as changes to what it sent before. */
export type BuildReply =
  | {
      id: number;
      ok: true;
      /** Absent when the snapshot's content did not change (same hash): the live snapshot stays. */
      snapshot?: SnapshotChanges;
      result: ResultDelta;
      /** Build and finalize, in the build thread. */
      buildMs: number;
    }
  | { id: number; ok: false; message: string };
