import type { Certificate } from '../../snapshot/types.ts';
import type { Diagnostic } from '../view.ts';
import type { AliasClaim, Effect, RouteCandidate, TlsClaim } from './context.ts';
import type { ObjectRef } from './meta.ts';
import type { ViewIndex } from './view-index.ts';

/** One thing a processor did to the build context, in order. */
export type RecordedEvent =
  | { t: 'own'; ref: ObjectRef }
  | {
      t: 'report';
      ref: ObjectRef;
      d: { severity: Diagnostic['severity']; reason: string; message: string; field?: string };
      effect: Effect;
    }
  | { t: 'route'; c: RouteCandidate }
  | { t: 'tls'; claim: TlsClaim }
  | { t: 'alias'; claim: AliasClaim }
  | { t: 'cert'; cert: Certificate }
  | { t: 'readiness'; service: string };

/** One lookup a processor made, with what it got (compared by identity: the index keeps unchanged values). */
export type Dependency =
  | { t: 'service' | 'secret'; namespace: string; name: string; value: unknown }
  | { t: 'slices'; namespace: string; name: string; value: readonly unknown[] };

/** What processing one object produced and which lookups it depended on. */
export interface Recording {
  events: RecordedEvent[];
  deps: Dependency[];
}

/**
 * A ViewIndex that notes every lookup while a recording is open. Processing an object is a function of the
 * object and of these lookups only, so equal lookups later mean the recording can be replayed as is.
 */
export class RecordingIndex implements ViewIndex {
  #index: ViewIndex;
  #open: Recording | undefined;

  constructor(index: ViewIndex) {
    this.#index = index;
  }

  begin(): void {
    this.#open = { events: [], deps: [] };
  }

  end(): Recording {
    const out = this.#open ?? { events: [], deps: [] };
    this.#open = undefined;
    return out;
  }

  note(event: RecordedEvent): void {
    this.#open?.events.push(event);
  }

  service(namespace: string, name: string): Record<string, unknown> | undefined {
    const value = this.#index.service(namespace, name);
    this.#open?.deps.push({ t: 'service', namespace, name, value });
    return value;
  }

  slices(namespace: string, name: string): readonly Record<string, unknown>[] {
    const value = this.#index.slices(namespace, name);
    this.#open?.deps.push({ t: 'slices', namespace, name, value });
    return value;
  }

  secret(namespace: string, name: string): Record<string, unknown> | undefined {
    const value = this.#index.secret(namespace, name);
    this.#open?.deps.push({ t: 'secret', namespace, name, value });
    return value;
  }
}

/** True when every lookup of `recording` gives the very same value in `index`. */
export function stillValid(recording: Recording, index: ViewIndex): boolean {
  for (const d of recording.deps) {
    const now =
      d.t === 'service'
        ? index.service(d.namespace, d.name)
        : d.t === 'secret'
          ? index.secret(d.namespace, d.name)
          : index.slices(d.namespace, d.name);
    if (now !== d.value) return false;
  }
  return true;
}
