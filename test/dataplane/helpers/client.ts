import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type PeerCertificate, connect as tlsConnect } from 'node:tls';

/** A buffered response. */
export interface TestResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestSpec {
  port: number;
  secure?: boolean;
  /** Host header; also the SNI name over HTTPS unless `servername` is given. */
  host?: string;
  servername?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

/** One request on a fresh connection to 127.0.0.1 (certificates not verified: tests use self-signed ones). */
export function request(spec: RequestSpec): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port: spec.port,
      path: spec.path ?? '/',
      method: spec.method ?? 'GET',
      headers: { ...(spec.host ? { host: spec.host } : {}), ...spec.headers },
      agent: false as const,
      ...(spec.secure ? { servername: spec.servername ?? spec.host ?? '', rejectUnauthorized: false } : {}),
    };
    const req = (spec.secure ? httpsRequest : httpRequest)(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(spec.body);
  });
}

/** The certificate the server presents for `servername` (undefined = no SNI), plus the ALPN result. */
export function peerCertificate(
  port: number,
  servername: string | undefined,
): Promise<{ cert: PeerCertificate; alpn: string | false | null; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ...(servername ? { servername } : {}),
      rejectUnauthorized: false,
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    socket.once('secureConnect', () => {
      const result = {
        cert: socket.getPeerCertificate(),
        alpn: socket.alpnProtocol,
        protocol: socket.getProtocol(),
      };
      socket.end();
      resolve(result);
    });
    socket.once('error', reject);
  });
}

/** The JSON body the test backends answer. */
export interface EchoBody {
  id: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export function json(res: TestResponse): EchoBody {
  return JSON.parse(res.body) as EchoBody;
}
