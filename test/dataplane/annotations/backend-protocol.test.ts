import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { build } from '../../../src/controller/build/index.ts';
import { viewFromYaml } from '../../controller/golden-support.ts';
import { makeCert, type TestCert } from '../helpers/certs.ts';
import { json, request } from '../helpers/client.ts';
import { startDataplane, type TestDataplane } from '../helpers/dataplane.ts';
import { echo, openWebSocket } from '../helpers/ws.ts';
import { ingressSnapshot, nginx } from './ingress-support.ts';

/** An HTTPS echo backend (and WebSocket echo) telling what TLS it saw: SNI and client certificate CN. */
async function startTlsBackend(
  cert: TestCert,
): Promise<{ server: Server; port: number; wss: WebSocketServer; seen: { n: number } }> {
  const server = createServer({
    cert: cert.certPem,
    key: cert.keyPem,
    requestCert: true,
    rejectUnauthorized: false,
  });
  const seen = { n: 0 };
  server.on('request', (req, res) => {
    seen.n++;
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: 'tls',
        url: req.url,
        headers: req.headers,
        sni: socket.servername === false ? null : socket.servername,
        client: peer?.subject?.CN ?? null,
      }),
    );
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    seen.n++;
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data) => ws.send(`tls:${data.toString()}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, wss, seen };
}

function tlsSecret(name: string, pair: TestCert, caPem: string) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace: 'default' },
    stringData: { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem, 'ca.crt': caPem },
  };
}

// Re-expressed from ingress-nginx test/e2e/annotations/{backendprotocol,proxyssl,grpc}.go, through the dataplane.
describe('backend-protocol HTTPS and proxy-ssl-*', () => {
  let backend: Awaited<ReturnType<typeof startTlsBackend>>;
  let t: TestDataplane;
  const get = (host: string) => request({ port: t.dp.ports.http, host, path: '/x' });

  before(async () => {
    const serverCert = await makeCert(['secure.internal'], 'backend');
    const otherCa = await makeCert(['other.internal'], 'other-ca');
    const client = await makeCert(['client.internal'], 'ingress-client');
    backend = await startTlsBackend(serverCert);
    t = await startDataplane();
    const ing = (name: string, annotations: Record<string, string>) => ({
      name,
      host: `${name}.foo.com`,
      annotations: nginx({ 'backend-protocol': 'HTTPS', ...annotations }),
      paths: [{ path: '/', service: 'secure' }],
    });
    const verified = { 'proxy-ssl-verify': 'on', 'proxy-ssl-name': 'secure.internal' };
    t.dp.apply(
      ingressSnapshot(
        [
          ing('verified', {
            ...verified,
            'proxy-ssl-secret': 'default/upstream-ca',
            'proxy-ssl-server-name': 'on',
          }),
          ing('wrongca', { ...verified, 'proxy-ssl-secret': 'default/other-ca' }),
          ing('wrongname', {
            'proxy-ssl-verify': 'on',
            'proxy-ssl-secret': 'default/upstream-ca',
            'proxy-ssl-name': 'elsewhere.internal',
          }),
          ing('noverify', {}),
          { name: 'plain', host: 'plain.foo.com', paths: [{ path: '/', service: 'secure' }] },
        ],
        { secure: backend.port },
        1,
        [
          tlsSecret('upstream-ca', client, serverCert.certPem),
          tlsSecret('other-ca', client, otherCa.certPem),
        ],
      ),
    );
  });
  after(async () => {
    await t.close();
    for (const c of backend.wss.clients) c.terminate();
    backend.server.closeAllConnections();
    await new Promise<void>((resolve) => backend.server.close(() => resolve()));
  });

  test('mirrors "should set backend protocol to https:// and use proxy_pass": the backend is reached over TLS', async () => {
    const res = await get('noverify.foo.com');
    assert.equal(res.status, 200, 'proxy-ssl-verify off (the default) accepts the self-signed backend');
    const body = json(res) as unknown as { sni: string | null; client: string | null };
    assert.equal(body.sni, null, 'no SNI without proxy-ssl-server-name');
    assert.equal(body.client, null, 'no client certificate without proxy-ssl-secret');
    assert.notEqual(
      (await get('plain.foo.com')).status,
      200,
      'the same backend spoken to in plain HTTP fails',
    );
  });

  test('mirrors "should set valid proxy-ssl-secret, proxy-ssl-verify to on, ... proxy-ssl-server-name to on": the right CA gets 200 with SNI and client certificate', async () => {
    const res = await get('verified.foo.com');
    assert.equal(res.status, 200);
    const body = json(res) as unknown as { sni: string | null; client: string | null; url: string };
    assert.equal(body.sni, 'secure.internal');
    assert.equal(body.client, 'ingress-client', "the Secret's tls.crt is the client certificate");
    assert.equal(body.url, '/x');
  });

  test('proxy-ssl-verify on with another CA, or another name, gets 502: the backend never sees the request', async () => {
    const before = backend.seen.n;
    assert.equal((await get('wrongca.foo.com')).status, 502);
    assert.equal((await get('wrongname.foo.com')).status, 502);
    assert.equal(backend.seen.n, before);
  });

  test('a WebSocket tunnel reaches the backend over the verified TLS upstream; a wrong CA refuses the upgrade', async () => {
    const url = `ws://127.0.0.1:${t.dp.ports.http}/chat`;
    const { ws } = await openWebSocket(url, 'verified.foo.com');
    try {
      assert.equal(await echo(ws, 'hello'), 'tls:hello');
    } finally {
      ws.terminate();
    }
    const before = backend.seen.n;
    await assert.rejects(openWebSocket(url, 'wrongca.foo.com'), /unexpected response 502/);
    assert.equal(backend.seen.n, before, 'the upgrade never reached the unverified backend');
  });
});

describe('backend-protocol refusals (builder)', () => {
  const ingress = (annotations: Record<string, string>, namespace = 'team-a') =>
    JSON.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'app', namespace, annotations: nginx(annotations) },
      spec: {
        ingressClassName: 'sticky',
        rules: [
          {
            host: 'app.foo.com',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'app', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    });
  const errors = (yaml: string) =>
    build(viewFromYaml(yaml), { ingressClass: 'sticky', allowLoopbackEndpoints: true }).diagnostics.filter(
      (d) => d.severity === 'Error',
    );

  test('mirrors "should return OK for service with backend protocol GRPC": refused until HTTP/2 upstreams exist (issue 16)', () => {
    for (const protocol of ['GRPC', 'grpcs']) {
      const found = errors(ingress({ 'backend-protocol': protocol }));
      assert.equal(found.length, 1);
      assert.match(found[0]!.message, /HTTP\/2 to the upstream.*issue 16/);
    }
    for (const protocol of ['AJP', 'FCGI', 'SPDY']) {
      assert.equal(errors(ingress({ 'backend-protocol': protocol })).length, 1, protocol);
    }
  });

  test("a proxy-ssl-secret of another namespace is refused: one tenant cannot borrow another's client certificate", async () => {
    const pair = await makeCert(['x.internal']);
    const secret = JSON.stringify(
      tlsSecret('victim', pair, pair.certPem) as unknown as Record<string, unknown>,
    );
    const found = errors(
      `${ingress({ 'backend-protocol': 'HTTPS', 'proxy-ssl-secret': 'default/victim' })}\n---\n${secret}`,
    );
    assert.equal(found.length, 1);
    assert.equal(found[0]!.reason, 'CrossNamespaceSecret');
  });
});
