import type { Logger } from 'pino';
import type { ControllerObserver } from '../src/controller/k8s/observer.ts';
import { type FolderLoad, ManifestFolder } from '../src/controller/manifests/index.ts';
import type { Publisher, PublishResult } from '../src/controller/publisher.ts';
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
  publisher: Publisher,
  logger: Logger,
  observer?: ControllerObserver,
): Promise<ViewSource> {
  // One process, no lease: standalone mode is always the leader.
  observer?.leader?.(true);
  let previous = new Set<string>();
  let latest: FolderLoad | undefined;
  const publish = async (load: FolderLoad) => {
    latest = load;
    for (const p of load.problems) {
      logger.error(
        { file: p.file, object: p.object },
        `manifest ${p.file}${p.object ? ` (${p.object})` : ''}: ${p.message}; keeping its last good objects`,
      );
    }
    let out: PublishResult;
    try {
      out = await publisher.publish(load.view);
    } catch (err) {
      // The build thread failed: keep serving the last snapshot, and build this folder again unless it changed.
      logger.error({ err }, 'build failed; keeping the last snapshot');
      setTimeout(() => latest === load && void publish(load), RETRY_AFTER_FAILURE_MS).unref();
      return;
    }
    const { snapshot, changed, result, buildMs } = out;
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
    onChange: (load) => void publish(load),
    onError: (err) =>
      logger.error({ err, dir }, `manifest folder ${dir}: ${err.message}; keeping the last good snapshot`),
  });
  await publish(await folder.start());
  return folder;
}

/** Pause before building a folder again after a failed publish (the build thread died). */
const RETRY_AFTER_FAILURE_MS = 1_000;

/** Diagnostics counted by object kind, for the invalid-objects gauge. */
function countByKind(diagnostics: readonly Diagnostic[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const d of diagnostics) counts[d.object.kind] = (counts[d.object.kind] ?? 0) + 1;
  return counts;
}
