/**
 * The build thread (worker_threads): keeps a copy of the view from deltas, builds and finalizes there, and
 * answers with the snapshot and results as changes (messages.ts). Nothing here touches sockets or traffic.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BuildThreadError } from '../../shared/errors.ts';
import { snapshotChanges } from '../../snapshot/delta.ts';
import { emptySnapshot } from '../../snapshot/hash.ts';
import type { Snapshot } from '../../snapshot/types.ts';
import { SnapshotPublisher } from '../publisher.ts';
import type { BuildReply, BuildRequest, BuildThreadInit } from './messages.ts';
import { ResultSender } from './result-delta.ts';
import { ViewMirror } from './view-delta.ts';

const init = workerData as BuildThreadInit;
const port = parentPort;
if (port === null) throw new BuildThreadError('worker-main.ts runs only as the build thread');

const mirror = new ViewMirror();
const results = new ResultSender();
// What the serving thread holds: changes are made against it (empty until the first answer).
let sent: Snapshot = emptySnapshot();
const publisher = new SnapshotPublisher(init.options, () => {}, init.version);

port.on('message', (request: BuildRequest) => {
  let reply: BuildReply;
  try {
    const out = publisher.publish(mirror.apply(request.view));
    reply = { id: request.id, ok: true, result: results.next(out.result), buildMs: out.buildMs };
    // A new version (the first one too, even when it configures nothing: version 1, as in one thread).
    if (out.snapshot !== sent && out.changed) {
      reply.snapshot = snapshotChanges(sent, out.snapshot);
      sent = out.snapshot;
    }
  } catch (err) {
    reply = { id: request.id, ok: false, message: (err as Error)?.message ?? String(err) };
  }
  port.postMessage(reply);
});
