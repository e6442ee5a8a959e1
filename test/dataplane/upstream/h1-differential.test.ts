import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { type Dispatcher, Pool } from 'undici';
import { H1Pool } from '../../../src/dataplane/upstream/h1-pool.ts';
import { type Case, generated, handWritten, without100 } from './h1-corpus.ts';

/**
 * Differential test of our upstream HTTP/1.1 client (src/dataplane/upstream/h1-*.ts) against undici/llhttp:
 * every corpus response is served by a raw TCP server on loopback and fetched through both clients, then a
 * probe request follows through the same pool. They must agree on status, headers, body bytes and whether the
 * connection was reused; where they differ, ours must be the one refusing (a 502), and only on a case the
 * corpus marks as ambiguous or malformed.
 */

const PROBE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nprobe', 'latin1');
const SEED = 0x5eed13;

interface Outcome {
  status?: number;
  headers?: Record<string, string | string[]>;
  body?: string;
  error?: string;
  /** The probe after the case went over the case's connection. */
  reused?: boolean;
  probe?: string;
}

let server: Server;
let port = 0;
const cases: Case[] = [...handWritten(), ...generated(SEED, 400)];
/** Per accepted connection: its id; the server records which connection served which path. */
const servedOn = new Map<string, number>();
const sockets = new Set<Socket>();

before(async () => {
  let nextId = 0;
  server = createServer((socket) => {
    const id = nextId++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const line = pending.slice(0, pending.indexOf('\r\n'));
        pending = pending.slice(end + 4);
        const path = line.split(' ')[1] as string;
        servedOn.set(path, id);
        if (path.startsWith('/probe')) {
          socket.write(PROBE);
          continue;
        }
        void serve(socket, cases[Number(path.split('/')[2])] as Case);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
});

after(async () => {
  for (const s of sockets) s.destroy();
  server.close();
});

async function serve(socket: Socket, c: Case): Promise<void> {
  for (const part of c.parts) {
    if (socket.destroyed) return;
    socket.write(part);
    await new Promise((r) => setImmediate(r));
  }
  if (c.end) socket.end();
}

/** Collects one exchange through the dispatch-handler interface the proxy's Exchange implements. */
function fetchOne(pool: Pick<Pool, 'dispatch'> | H1Pool, method: string, path: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = {};
    const body: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_c, status, headers) {
        out.status = status;
        out.headers = headers as Record<string, string | string[]>;
      },
      onResponseData(_c, chunk) {
        body.push(chunk);
      },
      onResponseEnd() {
        out.body = Buffer.concat(body).toString('latin1');
        resolve(out);
      },
      onResponseError(_c, err) {
        out.error =
          (err as { reason?: string; code?: string }).reason ??
          (err as { code?: string }).code ??
          err.message;
        if (process.env.H1_DEBUG) console.error(err);
        resolve(out);
      },
    };
    try {
      (pool as H1Pool).dispatch(
        {
          method,
          path,
          headers: ['host', 'upstream.test'],
          body: null,
          headersTimeout: 5_000,
          bodyTimeout: 5_000,
        },
        handler,
      );
    } catch (err) {
      resolve({
        error: (err as { reason?: string }).reason ?? (err as { code?: string }).code ?? String(err),
      });
    }
  });
}

async function run(client: 'ours' | 'undici', i: number, c: Case): Promise<Outcome> {
  const opts = { connectTimeout: 5_000, keepAliveTimeout: 4_000, connections: 1 };
  const pool =
    client === 'ours'
      ? new H1Pool('127.0.0.1', port, opts)
      : new Pool(`http://127.0.0.1:${port}`, { ...opts, pipelining: 1 });
  try {
    const path = `/case/${i}/${client}`;
    const out = await fetchOne(pool, c.method, path);
    if (out.error !== undefined) return out;
    // Let a connection the server closes be noticed (close-delimited bodies close it by definition).
    await new Promise((r) => setImmediate(r));
    const probePath = `/probe/${i}/${client}`;
    const probe = await fetchOne(pool, 'GET', probePath);
    out.probe = probe.error ?? probe.body;
    out.reused = servedOn.get(probePath) === servedOn.get(path);
    return out;
  } finally {
    await pool.destroy();
  }
}

function differences(a: Outcome, b: Outcome): string[] {
  const diffs: string[] = [];
  for (const k of ['status', 'body', 'reused', 'probe'] as const) {
    if (a[k] !== b[k]) diffs.push(`${k}: ours ${JSON.stringify(a[k])} undici ${JSON.stringify(b[k])}`);
  }
  try {
    assert.deepEqual(a.headers, b.headers);
  } catch {
    diffs.push(`headers: ours ${JSON.stringify(a.headers)} undici ${JSON.stringify(b.headers)}`);
  }
  return diffs;
}

test(`our H1 client agrees with undici on ${cases.length} upstream responses, or refuses where the framing is ambiguous`, async (t) => {
  const agreed: string[] = [];
  const refused: string[] = [];
  const failures: string[] = [];
  let interim100 = 0;
  const count = cases.length;
  for (let i = 0; i < count; i++) {
    const c = cases[i] as Case;
    const ours = await run('ours', i, c);
    let theirs = await run('undici', i, c);
    const stripped = without100(c);
    if (stripped !== undefined && theirs.error === 'UND_ERR_SOCKET') {
      cases.push(stripped);
      theirs = await run('undici', cases.length - 1, stripped);
      interim100++;
    }
    if (ours.error !== undefined && theirs.error !== undefined) {
      agreed.push(c.name);
      continue;
    }
    if (ours.error !== undefined) {
      if (c.strict && ours.error.startsWith('H1_ERR_')) refused.push(`${c.name}: ${ours.error}`);
      else failures.push(`${c.name}: ours refused (${ours.error}) a response undici accepts`);
      continue;
    }
    if (theirs.error !== undefined) {
      failures.push(`${c.name}: ours accepted a response undici refuses (${theirs.error})`);
      continue;
    }
    const diffs = differences(ours, theirs);
    if (diffs.length === 0) agreed.push(c.name);
    else if (c.rfcDiffers !== undefined && diffs.every((d) => d.startsWith('headers:'))) agreed.push(c.name);
    else if (c.strict && !ours.reused)
      refused.push(`${c.name}: differs on malformed input, not reused: ${diffs.join('; ')}`);
    else failures.push(`${c.name}: ${diffs.join('; ')}`);
  }
  t.diagnostic(
    `agreed ${agreed.length}, ours refused where undici did not ${refused.length}, 100s ${interim100}`,
  );
  for (const r of refused.filter((x) => !x.startsWith('gen'))) t.diagnostic(`refused: ${r}`);
  assert.deepEqual(failures, [], failures.join('\n'));
  // Every malformed hand-written shape was exercised, and most of the corpus agreed byte for byte.
  assert.ok(agreed.length >= count / 2, `agreed on ${agreed.length} of ${count}`);
  assert.ok(refused.length > 0);
  assert.ok(interim100 > 0, 'unsolicited 100 Continue responses were exercised');
});
