import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ProxyPorts } from './configs.ts';
import { COOKIE, HTTP_HOST, TLS_HOST } from './configs.ts';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function get(o: {
  port: number;
  host: string;
  path: string;
  tls: boolean;
  cookie?: string;
}): Promise<Answer> {
  const headers: Record<string, string> = { host: o.host };
  if (o.cookie) headers.cookie = o.cookie;
  const req = (o.tls ? httpsRequest : httpRequest)({
    host: '127.0.0.1',
    port: o.port,
    path: o.path,
    headers,
    agent: false,
    ...(o.tls ? { servername: TLS_HOST, rejectUnauthorized: false } : {}),
  });
  return new Promise((resolve, reject) => {
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('probe timed out')));
    req.end();
  });
}

function affinityCookie(a: Answer): string | undefined {
  const c = (a.headers['set-cookie'] ?? []).find((v) => v.startsWith(`${COOKIE}=`));
  return c?.split(';', 1)[0];
}

/**
 * Checks that a proxy is configured like the others before it is measured: 200 with an affinity cookie,
 * the cookie pins the endpoint, X-Forwarded-For/-Proto reach the backend, 308 to https for the TLS host,
 * and HTTPS answers. `affinity: false` (a ladder rung without it): no cookie expected, none checked.
 * Returns the problems found (empty when equivalent).
 */
export async function probe(p: ProxyPorts, o: { affinity?: boolean } = {}): Promise<string[]> {
  const problems: string[] = [];
  const first = await get({ port: p.http, host: HTTP_HOST, path: '/ws/probe', tls: false });
  const cookie = affinityCookie(first);
  if (first.status !== 200) problems.push(`GET http://${HTTP_HOST}/ws/probe: ${first.status}`);
  if (!cookie && o.affinity !== false) problems.push(`no ${COOKIE} cookie on the first response`);
  const seen = parse(first.body);
  if (!String(seen.headers?.['x-forwarded-for'] ?? '').includes('127.0.0.1'))
    problems.push('no X-Forwarded-For');
  if (seen.headers?.['x-forwarded-proto'] !== 'http') problems.push('no X-Forwarded-Proto: http');
  for (let i = 0; i < 4 && cookie; i++) {
    const again = await get({ port: p.http, host: HTTP_HOST, path: '/ws/probe', tls: false, cookie });
    const port = parse(again.body).port;
    if (port !== seen.port)
      problems.push(`cookie ${cookie} did not pin the endpoint (${seen.port} then ${port})`);
  }
  const redirect = await get({ port: p.http, host: TLS_HOST, path: '/x?y=1', tls: false });
  if (redirect.status !== 308 || !String(redirect.headers.location).startsWith(`https://${TLS_HOST}`)) {
    problems.push(
      `http://${TLS_HOST}/x: expected 308 to https, got ${redirect.status} ${redirect.headers.location}`,
    );
  }
  const secure = await get({ port: p.https, host: TLS_HOST, path: '/', tls: true });
  if (secure.status !== 200) problems.push(`GET https://${TLS_HOST}/: ${secure.status}`);
  return problems;
}

function parse(body: string): { port?: number; headers?: IncomingHttpHeaders } {
  try {
    return JSON.parse(body) as { port?: number; headers?: IncomingHttpHeaders };
  } catch {
    return {};
  }
}
