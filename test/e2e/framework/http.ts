import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
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

function agentFor(servername: string): Agent {
  let agent = agents.get(servername);
  if (!agent) {
    // Each request opens its own connection so a new handshake sees the current certificate.
    agent = new Agent({
      connect: { servername, rejectUnauthorized: false },
      pipelining: 0,
      keepAliveTimeout: 1,
    });
    agents.set(servername, agent);
  }
  return agent;
}

/** GET through the proxy on 127.0.0.1 with a Host header (and SNI for https). */
export async function get(
  port: number,
  host: string,
  path = '/',
  opts: { https?: boolean; cookie?: string; headers?: Record<string, string> } = {},
): Promise<ProxyResponse> {
  const scheme = opts.https ? 'https' : 'http';
  const res = await request(`${scheme}://127.0.0.1:${port}${path}`, {
    headers: { host, connection: 'close', ...(opts.cookie ? { cookie: opts.cookie } : {}), ...opts.headers },
    ...(opts.https ? { dispatcher: agentFor(host) } : {}),
  });
  const text = await res.body.text();
  const raw = res.headers['set-cookie'];
  const setCookie = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const id = res.headers['x-backend-id'];
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    backend: typeof id === 'string' ? id : undefined,
    setCookie,
  };
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

/** The certificate the proxy presents for SNI `servername`, as parsed X.509. */
export function peerCertificate(port: number, servername: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      if (!raw) reject(new Error('no peer certificate'));
      else resolve(new X509Certificate(raw));
    });
    socket.once('error', reject);
  });
}

/** Closes the shared HTTPS agents (call in `after`). */
export async function closeAgents(): Promise<void> {
  await Promise.all([...agents.values()].map((a) => a.close()));
  agents.clear();
}
