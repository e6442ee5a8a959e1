import type { BuildContext } from './context.ts';
import { stillValid } from './recording.ts';

/**
 * Runs `process` for `obj` (an Ingress or StickyRoute), or replays what it did last time when `obj` and
 * everything it looked up are the same objects as then. Objects that are not records are always processed.
 */
export function memoized(ctx: BuildContext, obj: unknown, process: () => void): void {
  if (typeof obj !== 'object' || obj === null) {
    process();
    return;
  }
  const recordings = ctx.cache.recordings;
  const seen = recordings.get(obj);
  if (seen !== undefined && stillValid(seen, ctx.index)) {
    ctx.replay(seen);
    return;
  }
  ctx.record();
  try {
    process();
  } finally {
    recordings.set(obj, ctx.recorded());
  }
}
