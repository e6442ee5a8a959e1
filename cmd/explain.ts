import { formatHashBy } from '../src/controller/annotations/hash-by.ts';
import { build } from '../src/controller/build/index.ts';
import { PassthroughTable, pickBySource } from '../src/dataplane/front/passthrough.ts';
import { compileSnapshot } from '../src/dataplane/routing/compile.ts';
import {
  type Decision,
  decide,
  type ProxyDecision,
  type RequestFacts,
} from '../src/dataplane/routing/decide.ts';
import { type HashInput, hashKey as keyOf } from '../src/dataplane/upstream/hash-key.ts';
import { MaglevBalancer } from '../src/dataplane/upstream/maglev.ts';
import { type BackendState, Upstreams } from '../src/dataplane/upstream/upstreams.ts';
import { UsageError } from '../src/shared/errors.ts';
import { finalizeSnapshot } from '../src/snapshot/index.ts';
import { loadAffinityKey } from './affinity-key.ts';
import { parseCommand } from './args.ts';
import { type Io, loadOnce, singleDir } from './check.ts';
import { explainKeys, helpText } from './help.ts';
import { formatDiagnostic, formatProblem } from './report.ts';

/**
 * `sticky-ingress explain DIR --url URL [--cookie N=V]... [--header N:V]... [--client ADDRESS]`: runs the dataplane's own matcher and balancer on
 * the folder's snapshot in a dry run (no listener, no health probes) and prints each decision with its reason.
 * Resolves to 0 when the request would reach an endpoint or a redirect, 1 when it would get an error status.
 */
export async function runExplain(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const cmd = parseCommand(argv, env, explainKeys, {
    url: { type: 'string' },
    cookie: { type: 'string', multiple: true },
    client: { type: 'string' },
    header: { type: 'string', multiple: true },
  });
  if (cmd.help) {
    io.out(helpText('explain'));
    return 0;
  }
  const dir = singleDir(cmd.positionals, 'explain');
  const url = parseUrl(cmd.extra.url);
  const cookies = (cmd.extra.cookie ?? []) as string[];
  for (const c of cookies) {
    if (!/^[^=;\s]+=[^;]*$/.test(c))
      throw new UsageError(`invalid --cookie ${JSON.stringify(c)}: expected NAME=VALUE`);
  }
  const headers: Record<string, string> = {};
  for (const h of (cmd.extra.header ?? []) as string[]) {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.*)$/.exec(h);
    if (m === null) throw new UsageError(`invalid --header ${JSON.stringify(h)}: expected NAME: VALUE`);
    headers[(m[1] as string).toLowerCase()] = m[2] as string;
  }
  if (cookies.length > 0) headers.cookie = cookies.join('; ');
  const { key } = await loadAffinityKey(cmd.settings.affinityKeyFile);

  const load = await loadOnce(dir);
  const result = build(load.view, { ...cmd.settings, allowLoopbackEndpoints: true });
  for (const p of load.problems) io.err(formatProblem(p));
  for (const d of result.diagnostics) io.err(formatDiagnostic(d));
  const snapshot = finalizeSnapshot(result.body, 1);

  const upstreams = new Upstreams({ affinityKey: key });
  // Closed first: update() then keeps pools current but starts no active health probes.
  upstreams.close();
  upstreams.update(snapshot.backends);
  const config = compileSnapshot(snapshot, (id) => upstreams.backend(id));

  const secure = url.protocol === 'https:';
  const facts = explainFacts(
    url,
    cmd.settings.publicHttpsPort ?? cmd.settings.httpsPort,
    typeof cmd.extra.client === 'string' ? cmd.extra.client : '',
    cookies,
  );
  const passthrough = secure
    ? new PassthroughTable(snapshot, (id) => upstreams.backend(id)).find(url.hostname)
    : undefined;
  if (passthrough !== undefined)
    return explainPassthrough(passthrough, url.hostname, facts.clientAddress, io);
  const d = decide(config, facts);
  io.out(`request: ${secure ? 'HTTPS' : 'HTTP'} host ${d.host} path ${d.path}`);
  const hashInput = { clientAddress: facts.clientAddress, target: facts.target, headers };
  return explainDecision(d, secure, cookies.join('; '), io, hashInput);
}

/**
 * The request facts `explain --url` stands for: a GET of the URL's path and query, Host its authority, the
 * `--cookie NAME=VALUE` pairs as its cookies (canary-by-cookie). The canary weight draw is never won (roll 1):
 * explain shows the share instead.
 */
export function explainFacts(
  url: URL,
  httpsPort: number,
  client: string,
  cookies: string[] = [],
): RequestFacts {
  const jar = new Map(cookies.map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)]));
  return {
    cookie: (name) => jar.get(name),
    roll: 1,
    method: 'GET',
    target: `${url.pathname}${url.search}`,
    host: url.host,
    secure: url.protocol === 'https:',
    clientAddress: client,
    upgrade: 'none',
    httpsPort,
    draining: false,
  };
}

function explainDecision(
  d: Decision<BackendState>,
  secure: boolean,
  cookieHeader: string,
  io: Io,
  hashInput: HashInput,
): number {
  const host = d.vhost;
  if (host === undefined || d.route === undefined) {
    io.out(`${d.kind === 'local' ? d.reason : ''}: ${d.kind === 'local' ? d.status : 404}`);
    return 1;
  }
  io.out(
    `host: ${host.hostname}${host.tls ? ' (TLS)' : ''}${host.hostname === d.host ? '' : ` (matched ${d.host})`}`,
  );
  const r = d.route.route;
  io.out(
    `route: ${r.id} path ${r.path} (${r.pathType}) from ${r.source.kind} ${r.source.namespace}/${r.source.name}`,
  );
  if (d.kind === 'redirect') {
    io.out(`would redirect ${d.status} to ${d.location}`);
    return 0;
  }
  if (d.kind === 'local') {
    io.out(`${d.reason}: ${d.status}`);
    return 1;
  }
  explainUpstream(d, io);
  return explainPick(d.backend, cookieHeader, secure, io, hashInput);
}

// What the dataplane would send (rewrite-target, upstream-vhost) and which side of a canary it chose.
function explainUpstream(d: ProxyDecision<BackendState>, io: Io): void {
  const r = d.route.route;
  const rewritten = r.rewrite === undefined ? '' : ` (rewrite-target ${r.rewrite} from ${d.path})`;
  io.out(`upstream request: GET ${d.target}${rewritten} Host ${d.upstreamHost}`);
  const c = r.canary;
  if (c === undefined) return;
  const by = [
    c.header !== undefined ? `header ${c.header}` : '',
    c.cookie !== undefined ? `cookie ${c.cookie}` : '',
    c.weight > 0 ? `weight ${c.weight}/${c.weightTotal} of the other requests` : '',
  ].filter((x) => x !== '');
  const rule = `canary ${c.source.namespace}/${c.source.name} by ${by.join(', ') || 'nothing'}`;
  io.out(`canary: ${d.canary ? `chosen (${rule})` : `not chosen: the main backend (${rule})`}`);
}

function explainPick(
  backend: BackendState,
  cookieHeader: string,
  secure: boolean,
  io: Io,
  hashInput: HashInput,
): number {
  const b = backend.config;
  const affinity = b.affinity ? `cookie ${b.affinity.cookie.name} (${b.affinity.mode})` : 'none';
  io.out(
    `backend: ${b.id} service ${b.service.namespace}/${b.service.name}:${b.service.port} policy ${b.balance} affinity ${affinity}, ${b.endpoints.length} endpoints`,
  );
  const hashKey = b.hashBy === undefined ? undefined : keyOf(b.hashBy, hashInput);
  if (b.hashBy !== undefined) {
    io.out(`hash: Maglev over ${formatHashBy(b.hashBy)} = ${JSON.stringify(hashKey)}`);
  }
  const pick = backend.pick(
    cookieHeader === '' ? undefined : cookieHeader,
    secure,
    undefined,
    undefined,
    hashKey,
  );
  if (pick === undefined) {
    io.out('no eligible endpoint (none ready): 503');
    return 1;
  }
  const id = pick.endpoint.id;
  const where = `${pick.endpoint.address}:${pick.endpoint.port}`;
  const name = b.affinity?.cookie.name;
  const why = {
    none: b.affinity ? `${b.balance} pick` : `no affinity: ${b.balance} pick`,
    hit: `cookie ${name} matched endpoint ${id}`,
    new: `${cookieHeader.includes(`${name}=`) ? `cookie ${name} names no current endpoint` : 'no cookie'}: ${b.balance} pick, would set ${name}`,
    reissued: `cookie ${name} endpoint unavailable: ${b.balance} pick, would re-set ${name}`,
  }[pick.affinity];
  io.out(`endpoint: ${id} (${where})`);
  io.out(`why: ${why}`);
  if (pick.setCookie !== undefined) io.out(`set-cookie: ${pick.setCookie}`);
  return 0;
}

/** An HTTPS request to a passthrough host: no route is matched, the raw connection goes by source hash. */
function explainPassthrough(backend: BackendState, host: string, client: string, io: Io): number {
  const b = backend.config;
  io.out(`passthrough: TLS for ${host} is not terminated; the raw connection is relayed to backend ${b.id}`);
  const m = pickBySource(backend, new MaglevBalancer(), client);
  if (m === undefined) {
    io.out('no eligible endpoint (none ready): connection closed');
    return 1;
  }
  io.out(`endpoint: ${m.state.id} (${m.state.address}:${m.state.port})`);
  io.out(`why: consistent hash (Maglev) of client address ${JSON.stringify(client)}`);
  return 0;
}

function parseUrl(value: unknown): URL {
  if (typeof value !== 'string')
    throw new UsageError('explain needs --url URL, e.g. --url https://host/path');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `invalid --url ${JSON.stringify(value)}: expected an absolute http:// or https:// URL`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid --url ${JSON.stringify(value)}: expected an http:// or https:// URL`);
  }
  return url;
}
