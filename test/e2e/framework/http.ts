import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { ingressAddress } from './existing-cluster.ts';
import { waitFor } from './wait.ts';

/** A response of the proxy, body parsed when it is the backend's JSON. */
export interface ProxyResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The backend id that answered (`x-backend-id`), if any. */
  backend: string | undefined;
  setCookie: string[];
}

const agents = new Map<string, Agent>();

function agentFor(servername: string, ca?: string): Agent {
  const key = `${servername}\n${ca ?? ''}`;
  let agent = agents.get(key);
  if (!agent) {
    // Each request opens its own connection (like separate browser tabs) so a new handshake sees the
    // current certificate; with `ca` the certificate must verify for `servername`.
    agent = new Agent({
      connect: ca ? { servername, ca } : { servername, rejectUnauthorized: false },
      pipelining: 0,
      keepAliveTimeout: 1,
    });
    agents.set(key, agent);
  }
  return agent;
}

/**
 * GET `url` (its authority an address) as a browser on `host` would: Host header and SNI `host`; with `ca`
 * the certificate must verify for `host`. Headers and body each time out after `timeoutMs` (10 s).
 */
export async function browse(
  url: string,
  host: string,
  opts: { cookie?: string; ca?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ProxyResponse> {
  const res = await request(url, {
    headers: { host, ...(opts.cookie ? { cookie: opts.cookie } : {}), ...opts.headers },
    dispatcher: agentFor(host, opts.ca),
    headersTimeout: opts.timeoutMs ?? 10_000,
    bodyTimeout: opts.timeoutMs ?? 10_000,
  });
  const text = await res.body.text();
  const raw = res.headers['set-cookie'];
  const id = res.headers['x-backend-id'];
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    backend: typeof id === 'string' ? id : undefined,
    setCookie: raw === undefined ? [] : Array.isArray(raw) ? raw : [raw],
  };
}

/** GET through the proxy (127.0.0.1, or the existing cluster's ingress address) with a Host header (and SNI for https). */
export function get(
  port: number,
  host: string,
  path = '/',
  opts: { https?: boolean; cookie?: string; headers?: Record<string, string> } = {},
): Promise<ProxyResponse> {
  const scheme = opts.https ? 'https' : 'http';
  return browse(`${scheme}://${ingressAddress()}:${port}${path}`, host, {
    ...(opts.cookie ? { cookie: opts.cookie } : {}),
    headers: { connection: 'close', ...opts.headers },
    timeoutMs: 300_000, // undici's default: a suite may hold a request on purpose
  });
}

/** The `name=value` part of the first Set-Cookie named `name`. */
export function cookiePair(res: ProxyResponse, name: string): string | undefined {
  const line = res.setCookie.find((c) => c.startsWith(`${name}=`));
  return line?.split(';')[0];
}

/** Polls GET until `accept` likes the response (routing converges after a rebuild). */
export function waitForResponse(
  port: number,
  host: string,
  path: string,
  accept: (r: ProxyResponse) => boolean,
  opts: { https?: boolean; cookie?: string; timeoutMs?: number; description?: string } = {},
): Promise<ProxyResponse> {
  return waitFor(
    async () => {
      const r = await get(port, host, path, opts);
      return accept(r) ? r : undefined;
    },
    { timeoutMs: opts.timeoutMs ?? 20_000, description: opts.description ?? `${host}${path} on :${port}` },
  );
}

/** The certificate presented for SNI `servername` at `address` (default: the proxy's), as parsed X.509. */
export function peerCertificate(
  port: number,
  servername: string,
  address = ingressAddress(),
): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, servername, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      if (!raw) reject(new Error('no peer certificate'));
      else resolve(new X509Certificate(raw));
    });
    socket.once('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

/** Closes the shared HTTPS agents (call in `after`). */
export async function closeAgents(): Promise<void> {
  await Promise.all([...agents.values()].map((a) => a.close()));
  agents.clear();
}
