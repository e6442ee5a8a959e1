import type { Logger } from 'pino';
import type { ControllerObserver } from '../src/controller/k8s/observer.ts';
import { type FolderLoad, ManifestFolder } from '../src/controller/manifests/index.ts';
import type { SnapshotPublisher } from '../src/controller/publisher.ts';
import type { Diagnostic } from '../src/controller/view.ts';
import { diagnosticKey } from './report.ts';

/** A running source of views: the manifest folder here, the cluster controller in cluster mode. */
export interface ViewSource {
  close(): Promise<void>;
}

/**
 * Standalone mode: publishes the folder's view now and after every change. Parse problems and diagnostics
 * are logged once per change (a diagnostic that persists across rebuilds is not repeated).
 */
export async function startStandalone(
  dir: string,
  publisher: SnapshotPublisher,
  logger: Logger,
  observer?: ControllerObserver,
): Promise<ViewSource> {
  // One process, no lease: standalone mode is always the leader.
  observer?.leader?.(true);
  let previous = new Set<string>();
  const publish = (load: FolderLoad) => {
    for (const p of load.problems) {
      logger.error(
        { file: p.file, object: p.object },
        `manifest ${p.file}${p.object ? ` (${p.object})` : ''}: ${p.message}; keeping its last good objects`,
      );
    }
    const { snapshot, changed, result, buildMs } = publisher.publish(load.view);
    const current = new Set<string>();
    for (const d of result.diagnostics) {
      const key = diagnosticKey(d);
      current.add(key);
      if (previous.has(key)) continue;
      const fields = {
        kind: d.object.kind,
        namespace: d.object.namespace,
        name: d.object.name,
        field: d.field,
        reason: d.reason,
      };
      logger[d.severity === 'Error' ? 'error' : 'warn'](fields, d.message);
    }
    previous = current;
    observer?.build?.({
      durationMs: buildMs,
      changed,
      version: snapshot.version,
      diagnostics: result.diagnostics.length,
    });
    observer?.invalidObjects?.(countByKind(result.diagnostics));
    logger.info(
      {
        version: snapshot.version,
        hash: snapshot.hash,
        changed,
        files: load.files,
        objects: load.objects,
        hosts: snapshot.hosts.length,
        backends: snapshot.backends.length,
        diagnostics: result.diagnostics.length,
        buildMs: Math.round(buildMs * 10) / 10,
      },
      changed ? 'snapshot published' : 'manifests changed, snapshot unchanged',
    );
  };
  const folder = new ManifestFolder({
    dir,
    onChange: publish,
    onError: (err) =>
      logger.error({ err, dir }, `manifest folder ${dir}: ${err.message}; keeping the last good snapshot`),
  });
  publish(await folder.start());
  return folder;
}

/** Diagnostics counted by object kind, for the invalid-objects gauge. */
function countByKind(diagnostics: readonly Diagnostic[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const d of diagnostics) counts[d.object.kind] = (counts[d.object.kind] ?? 0) + 1;
  return counts;
}
