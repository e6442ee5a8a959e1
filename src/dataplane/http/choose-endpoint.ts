import type { IncomingMessage } from 'node:http';
import { pinnedBackend } from '../routing/compile.ts';
import type { ProxyDecision } from '../routing/decide.ts';
import type { RateLimiters } from '../routing/rate-limits.ts';
import type { BackendState, Selection } from '../upstream/backend-state.ts';
import { requestHashKey } from '../upstream/hash-key.ts';

/** Why a proxy decision still ends in a local answer once state is consulted. */
export interface Refusal {
  readonly kind: 'refused';
  readonly status: 400 | 503;
  readonly hsts: string | undefined;
}

/** The endpoint for a proxy decision, and what the request sends upstream. */
export interface Chosen {
  readonly kind: 'chosen';
  /** decide()'s backend, or the split's backend the session is pinned to (sessionPersistence). */
  readonly backend: BackendState;
  readonly selection: Selection;
  /** The target forwarded: the client's, or with a sealed engine.io sid replaced by the backend's own. */
  readonly target: string;
  /** The request is an engine.io handshake whose sid the response must seal (affinity-sid.ts). */
  readonly sealSid: boolean;
  /** The request's hash key when the backend balances by hash, for a retry to reuse. */
  readonly hashKey: string | undefined;
  /** Ends the request's share of limit-connections; call when its socket closes. null: nothing to release. */
  readonly release: (() => void) | null;
}

/**
 * The stateful half of a request's decision, after the pure decide(): the per-client limits (limit-rps,
 * limit-rpm, limit-connections), the engine.io sid, the split pin, the hash key and the endpoint pick. One function for the
 * HTTP path and the Upgrade path, so a WebSocket and a request draw on one budget and pin the same way.
 * `method` is the request's (GET for upgrades); `clientAddress` the one decide() used.
 */
export function chooseEndpoint(
  decision: ProxyDecision<BackendState>,
  limits: RateLimiters,
  req: Pick<IncomingMessage, 'url' | 'headers'>,
  method: string,
  clientAddress: string,
  secure: boolean,
): Refusal | Chosen {
  const hsts = secure ? decision.route.hsts : undefined;
  const release = limits.admit(decision.route.route, clientAddress, performance.now());
  // ingress-nginx answers 503 above limit-rps / limit-connections (limit-req-status-code's default).
  if (release === undefined) return { kind: 'refused', status: 503, hsts };
  // sessionPersistence wins over a weighted split: a request pinned to one of the split's backends stays there.
  const backend = pinnedBackend(decision.route, decision.backend, req.headers.cookie);
  const sid = backend.sidOf(decision.target, method);
  if (sid.kind === 'forged') {
    // Not a sid we sealed: an error, never a random pod (affinity-sid.ts).
    release?.();
    return { kind: 'refused', status: 400, hsts };
  }
  const hashKey = requestHashKey(backend.config, clientAddress, req);
  const token = sid.kind === 'sealed' ? sid.token : undefined;
  const selection = backend.pick(req.headers.cookie, secure, undefined, token, hashKey);
  if (selection === undefined) {
    release?.();
    // No eligible endpoint (none ready, or every one excluded): 503, as decide()'s noEndpoint() says.
    return { kind: 'refused', status: 503, hsts };
  }
  return {
    kind: 'chosen',
    backend,
    selection,
    target: sid.kind === 'sealed' ? sid.target : decision.target,
    sealSid: sid.kind === 'none' && sid.handshake,
    hashKey,
    release,
  };
}
