/**
 * Leader election against a Lease API that stalls (issue 10 item 10): a real HTTP server on loopback speaks
 * the coordination.k8s.io/v1 Lease subset (GET/POST/PUT with resourceVersion conflicts) and can stop
 * answering one candidate. A leader whose renew hangs must give up at its renew deadline, before the lease
 * runs out for the others: at no moment do two candidates believe they lead.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { KubeRest } from '../../../src/controller/k8s/kube-rest.ts';
import { LeaderElector } from '../../../src/controller/k8s/leader-elector.ts';

type Lease = { metadata: { name: string; namespace: string; resourceVersion?: string }; spec: unknown };

/** The Lease API on 127.0.0.1; requests whose bearer token is in `stalled` are never answered. */
async function fakeLeaseApi() {
  let lease: Lease | undefined;
  let version = 0;
  const stalled = new Set<string>();
  const hanging: ServerResponse[] = [];
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse, text: string) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (stalled.has(token)) {
      hanging.push(res);
      return;
    }
    if (req.method === 'GET') return lease ? send(res, 200, lease) : send(res, 404, { message: 'not found' });
    const body = JSON.parse(text) as Lease;
    if (req.method === 'POST' && lease) return send(res, 409, { message: 'exists' });
    if (req.method === 'PUT' && body.metadata.resourceVersion !== lease?.metadata.resourceVersion) {
      return send(res, 409, { message: 'conflict' });
    }
    lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } };
    send(res, 200, lease);
  };
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (c: string) => {
      text += c;
    });
    req.on('end', () => handle(req, res, text));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    stalled,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function restFor(port: number, token: string): KubeRest {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return new KubeRest(kc);
}

test('a leader whose renew hangs steps down at the renew deadline, before anyone else leads', async (t) => {
  const api = await fakeLeaseApi();
  t.after(() => api.close());
  const timing = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 100 };
  const log: string[] = [];
  const leaders = new Set<string>();
  let overlap = false;
  const electors = new Map<string, LeaderElector>();
  let bLeads: () => void = () => {};
  const bLed = new Promise<void>((resolve) => {
    bLeads = resolve;
  });
  for (const id of ['a', 'b']) {
    const elector = new LeaderElector({
      rest: restFor(api.port, id),
      namespace: 'sys',
      name: 'lease',
      identity: id,
      timing,
      logger: pino({ level: 'silent' }),
      onChange: (leader) => {
        log.push(`${id} ${leader ? 'leads' : 'steps down'}`);
        if (leader) leaders.add(id);
        else leaders.delete(id);
        if (leaders.size > 1) overlap = true;
        if (leader && id === 'b') bLeads();
      },
    });
    electors.set(id, elector);
  }
  t.after(async () => {
    api.stalled.clear();
    for (const e of electors.values()) await e.close();
  });
  electors.get('a')?.start();
  // b starts once a leads, so a is the first leader.
  await new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (electors.get('a')?.isLeader) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > 20_000) {
        clearInterval(poll);
        reject(new Error('a never became leader'));
      }
    }, 20);
  });
  electors.get('b')?.start();
  api.stalled.add('a'); // every request of a now hangs, its renew included
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`b never led: ${log.join(', ')}`)), 30_000).unref(),
  );
  await Promise.race([bLed, timeout]);
  assert.equal(electors.get('a')?.isLeader, false, `a still leads while b leads: ${log.join(', ')}`);
  assert.equal(overlap, false, log.join(', '));
  assert.deepEqual(log, ['a leads', 'a steps down', 'b leads']);
});
