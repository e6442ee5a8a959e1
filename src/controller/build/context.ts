import type { Canary, Certificate, Endpoint, Route } from '../../snapshot/types.ts';
import type { BuildOptions, Diagnostic } from '../view.ts';
import type { BuildCache } from './cache.ts';
import { compareStrings, type ObjectRef, type Rank } from './meta.ts';
import type { BackendPolicy } from './policy.ts';
import { type Recording, RecordingIndex } from './recording.ts';
import type { ViewIndex } from './view-index.ts';

/** How a diagnostic affects its object's status: rejected (Accepted=False), a broken reference, or neither. */
export type Effect = 'reject' | 'ref' | 'none';

/** The Service a route wants, with the policies its backend must carry. Ids are chosen after conflicts. */
export interface BackendRequest {
  service: { namespace: string; name: string; port: string };
  policy: BackendPolicy;
  endpoints: readonly Endpoint[];
}

/** A route some object asks for; it enters the snapshot only if it wins its host+path+pathType. */
export interface RouteCandidate {
  host: string;
  route: Omit<Route, 'backend'>;
  backend: BackendRequest;
  owner: ObjectRef;
  rank: Rank;
  /** spec.defaultBackend routes lose to every rule route. */
  fallback: boolean;
  field: string;
  /** A weighted split (Route.split); `backend` is then its first entry with a backend. No backend: a 500 share. */
  split?: { backend?: BackendRequest; weight: number }[];
  /** A canary Ingress's path: never a route of its own, attached to the winner of its host+path. */
  canary?: Omit<Canary, 'backend' | 'source'>;
  /** `from-to-www-redirect`: the www/non-www twin of `host` redirects here unless something serves it. */
  wwwRedirect?: boolean;
}

/** A host some object lists under TLS, with its certificate id when the Secret was usable. */
export interface TlsClaim {
  host: string;
  certificate?: string;
  owner: ObjectRef;
  rank: Rank;
  field: string;
}

/** `server-alias`: `alias` asks to be served like `host` (a rule host of the same object). */
export interface AliasClaim {
  alias: string;
  host: string;
  owner: ObjectRef;
  rank: Rank;
  field: string;
}

interface StatusAccumulator {
  ref: ObjectRef;
  rejected: Diagnostic[];
  refs: Diagnostic[];
  other: Diagnostic[];
}

/**
 * The mutable state of one build: processors append candidates, claims, certificates and diagnostics;
 * `assemble` turns them into the snapshot body. Lives for one `build` call only.
 */
export class BuildContext {
  readonly options: BuildOptions;
  readonly cache: BuildCache;
  /** Lookups of the view; while an object is recorded, every lookup is noted as a dependency of it. */
  readonly index: ViewIndex;
  readonly routes: RouteCandidate[] = [];
  readonly tls: TlsClaim[] = [];
  /** Gateway HTTPS listeners' certificates by listener hostname (`*` without one): SNI names no host covers. */
  readonly listenerTls: TlsClaim[] = [];
  readonly aliases: AliasClaim[] = [];
  /** Usable certificates by id; only those a host or the default refers to reach the snapshot. */
  readonly certificates = new Map<string, Certificate>();
  #recorder: RecordingIndex;
  /** Names of IngressClasses this controller owns, and whether one of them is the cluster default. */
  ownClasses = new Set<string>();
  ownsDefaultClass = false;
  /** `namespace/name` of the Services whose readiness decided a route (default-backend substitution). */
  readonly readiness = new Set<string>();
  #diagnostics: Diagnostic[] = [];
  #statuses = new Map<string, StatusAccumulator>();

  constructor(index: ViewIndex, options: BuildOptions, cache: BuildCache) {
    this.options = options;
    this.cache = cache;
    this.#recorder = new RecordingIndex(index);
    this.index = this.#recorder;
  }

  /** Starts noting what one object adds and looks up, so a later build can replay it (see BuildCache). */
  record(): void {
    this.#recorder.begin();
  }

  /** Ends `record()`: the object's output and dependencies. */
  recorded(): Recording {
    return this.#recorder.end();
  }

  /** Adds what a recorded object produced, exactly as processing it again would. */
  replay(recording: Recording): void {
    for (const e of recording.events) {
      if (e.t === 'own') this.own(e.ref);
      else if (e.t === 'report') this.report(e.ref, e.d, e.effect);
      else if (e.t === 'route') this.addRoute(e.c);
      else if (e.t === 'tls') this.addTls(e.claim);
      else if (e.t === 'alias') this.addAlias(e.claim);
      else if (e.t === 'readiness') this.dependsOnReadiness(e.service);
      else this.addCertificate(e.cert);
    }
  }

  addRoute(c: RouteCandidate): void {
    this.routes.push(c);
    this.#recorder.note({ t: 'route', c });
  }

  addTls(claim: TlsClaim): void {
    this.tls.push(claim);
    this.#recorder.note({ t: 'tls', claim });
  }

  addAlias(claim: AliasClaim): void {
    this.aliases.push(claim);
    this.#recorder.note({ t: 'alias', claim });
  }

  addCertificate(cert: Certificate): void {
    if (!this.certificates.has(cert.id)) this.certificates.set(cert.id, cert);
    this.#recorder.note({ t: 'cert', cert });
  }

  /**
   * Notes that whether Service `namespace/name` has a ready endpoint shaped a route, so an EndpointSlice change
   * of that Service may change more than its backends (the endpoint fast path then builds in full).
   */
  dependsOnReadiness(service: string): void {
    this.readiness.add(service);
    this.#recorder.note({ t: 'readiness', service });
  }

  /** Marks an object as ours: it gets a status even when nothing is wrong with it. */
  own(ref: ObjectRef): void {
    this.#recorder.note({ t: 'own', ref });
    const key = `${ref.kind}/${ref.namespace}/${ref.name}`;
    if (!this.#statuses.has(key)) this.#statuses.set(key, { ref, rejected: [], refs: [], other: [] });
  }

  /** Records a diagnostic about `object`; `effect` decides which status condition it turns false. */
  report(
    object: ObjectRef,
    d: { severity: Diagnostic['severity']; reason: string; message: string; field?: string },
    effect: Effect = 'none',
  ): void {
    this.#recorder.note({ t: 'report', ref: object, d, effect });
    const diagnostic: Diagnostic = {
      severity: d.severity,
      object: { ...object },
      reason: d.reason,
      message: d.message,
    };
    if (d.field !== undefined) diagnostic.field = d.field;
    this.#diagnostics.push(diagnostic);
    const status = this.#statuses.get(`${object.kind}/${object.namespace}/${object.name}`);
    if (!status) return;
    const list = effect === 'reject' ? status.rejected : effect === 'ref' ? status.refs : status.other;
    list.push(diagnostic);
  }

  /** Diagnostics sorted by object, field, reason and message: input order never shows through. */
  diagnostics(): Diagnostic[] {
    return sortDiagnostics(this.#diagnostics);
  }

  statusAccumulators(): StatusAccumulator[] {
    return [...this.#statuses.values()];
  }
}

/** `list` sorted by object, field, reason and message, duplicates dropped: input order never shows through. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) =>
    [d.object.kind, d.object.namespace, d.object.name, d.field ?? '', d.reason, d.message, d.severity].join(
      '\u0000',
    );
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const d of [...list].sort((a, b) => compareStrings(key(a), key(b)))) {
    if (seen.has(key(d))) continue;
    seen.add(key(d));
    out.push(d);
  }
  return out;
}
