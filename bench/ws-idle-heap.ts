/**
 * Where the bytes of an idle tunnel are (issue 13 item 4): the product Dataplane in this process, a `ws`
 * backend and the WebSocket clients in a child process (so this process's heap is the proxy's alone).
 * Opens N idle tunnels (ws or wss), then prints per tunnel: RSS, V8 heap used/committed per space, external
 * memory, and with --snapshot the heap-snapshot objects by constructor (N tunnels minus 0 tunnels).
 * Then closes them and prints the same `--close-settle` ms later (no forced GC: what the bench sees).
 *
 *   node --expose-gc bench/ws-idle-heap.ts --tunnels 2000 [--wss] [--snapshot] [--close-settle 30000]
 */
import { fork } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { Dataplane } from '../src/dataplane/dataplane.ts';
import { buildSnapshot } from '../test/dataplane/helpers/snapshot.ts';
import { benchDataplaneOptions } from './lib/dataplane-options.ts';

const { values: args } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    tunnels: { type: 'string', default: '2000' },
    wss: { type: 'boolean', default: false },
    snapshot: { type: 'boolean', default: false },
    retainers: { type: 'boolean', default: false },
    reclaim: { type: 'string' },
    'reclaim-delay': { type: 'string', default: '2000' },
    'close-settle': { type: 'string', default: '30000' },
    settle: { type: 'string', default: '2000' },
  },
});

interface Mem {
  rssKiB: number;
  anonKiB: number;
  heapUsed: number;
  heapCommitted: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, { committed: number; used: number }>;
}

function mem(): Mem {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  const m = process.memoryUsage();
  const spaces: Mem['spaces'] = {};
  for (const s of getHeapSpaceStatistics()) {
    if (s.space_size > 0) spaces[s.space_name] = { committed: s.space_size, used: s.space_used_size };
  }
  return {
    rssKiB: field('VmRSS'),
    anonKiB: field('RssAnon'),
    heapUsed: m.heapUsed,
    heapCommitted: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    spaces,
  };
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc');
  g();
  g();
}

/**
 * Heap snapshot objects grouped by `type:name`, with count and self size. With `retainers`, generic objects
 * (plain objects, arrays, strings, closures) are also keyed by what holds them (`<- Holder.edge`).
 */
function histogram(retainers: boolean): Map<string, { count: number; bytes: number }> {
  const file = writeHeapSnapshot();
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: {
      meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
    };
    nodes: number[];
    edges: number[];
    strings: string[];
  };
  rmSync(file);
  const meta = snap.snapshot.meta;
  const width = meta.node_fields.length;
  const iType = meta.node_fields.indexOf('type');
  const iName = meta.node_fields.indexOf('name');
  const iSize = meta.node_fields.indexOf('self_size');
  const iEdges = meta.node_fields.indexOf('edge_count');
  const eWidth = meta.edge_fields.length;
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const edgeTypes = meta.edge_types[0];
  const types = meta.node_types[0];
  const label = (i: number) => {
    const type = types[snap.nodes[i + iType] as number] as string;
    const raw = type.endsWith('string') ? '' : (snap.strings[snap.nodes[i + iName] as number] ?? '');
    return `${type}:${raw.slice(0, 40)}`;
  };
  // First non-weak retainer of every node: `Holder.edge`.
  const holder = new Map<number, string>();
  const holderIdx = new Map<number, number>();
  if (retainers) {
    let e = 0;
    for (let i = 0; i < snap.nodes.length; i += width) {
      const n = snap.nodes[i + iEdges] as number;
      for (let k = 0; k < n; k++, e += eWidth) {
        const kind = edgeTypes[snap.edges[e + eType] as number];
        if (kind === 'weak' || kind === 'shortcut') continue;
        const to = snap.edges[e + eTo] as number;
        if (holder.has(to)) continue;
        holderIdx.set(to, i);
        const name =
          kind === 'element' || kind === 'hidden'
            ? `[${kind}]`
            : snap.strings[snap.edges[e + eName] as number];
        holder.set(to, `${label(i).split(':')[1] || label(i)}.${String(name).slice(0, 30)}`);
      }
    }
  }
  const generic =
    /^(object:Object|object:Array|array:|string:|concatenated string:|sliced string:|closure:|hidden:system \/ PropertyArray|number:heap number|array:\(object elements\)|object:system \/ Context)/;
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    let key = label(i);
    if (retainers && generic.test(key)) {
      // A string inside a rope (ConsString) is keyed by what holds the rope's root.
      let at = i;
      for (let up = 0; up < 64 && label(holderIdx.get(at) ?? -1).includes('string:'); up++)
        at = holderIdx.get(at) as number;
      key += ` <- ${holder.get(at) ?? '?'}${at === i ? '' : ' (rope)'}`;
      // A Map's or Set's table: say whose Map it is.
      const h = holderIdx.get(at);
      if (
        h !== undefined &&
        !(holder.get(h) ?? '').startsWith('(Stack roots)') &&
        /^object:(Map|Set)$/.test(label(h))
      )
        key += ` <- ${holder.get(h) ?? '?'}`;
    }
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count += 1;
    e.bytes += snap.nodes[i + iSize] as number;
    out.set(key, e);
  }
  return out;
}

function perTunnel(a: Mem, b: Mem, n: number): Record<string, string> {
  const kib = (x: number) => (x / 1024 / n).toFixed(2);
  const row: Record<string, string> = {
    rss: ((b.rssKiB - a.rssKiB) / n).toFixed(2),
    rssAnon: ((b.anonKiB - a.anonKiB) / n).toFixed(2),
    heapUsed: kib(b.heapUsed - a.heapUsed),
    heapCommitted: kib(b.heapCommitted - a.heapCommitted),
    external: kib(b.external - a.external),
    arrayBuffers: kib(b.arrayBuffers - a.arrayBuffers),
  };
  for (const [k, v] of Object.entries(b.spaces)) {
    const base = a.spaces[k] ?? { committed: 0, used: 0 };
    row[`${k} committed/used`] = `${kib(v.committed - base.committed)} / ${kib(v.used - base.used)}`;
  }
  return row;
}

async function parent(): Promise<void> {
  const n = Number(args.tunnels);
  const child = fork(new URL(import.meta.url).pathname, ['--child'], { stdio: 'inherit' });
  const ask = (msg: object) =>
    new Promise<{ port?: number; opened?: number }>((resolve) => {
      child.once('message', (m) => resolve(m as { port?: number; opened?: number }));
      child.send(msg);
    });
  const { port } = await ask({ start: true });
  const dp = new Dataplane({
    ...benchDataplaneOptions({ keepAliveTimeoutMs: 5_000, logLevel: 'warn' }),
    maxTunnels: n + 1000,
  });
  await dp.start();
  dp.apply(
    buildSnapshot({
      hosts: [
        { hostname: 'ws.bench', routes: [{ backend: 'ws' }] },
        { hostname: 'wss.bench', tls: true, routes: [{ backend: 'ws' }] },
      ],
      backends: [{ id: 'ws', endpoints: [port as number] }],
    }),
  );
  const url = args.wss ? `wss://127.0.0.1:${dp.ports.https}/ws` : `ws://127.0.0.1:${dp.ports.http}/ws`;
  const settle = Number(args.settle);
  try {
    const host = args.wss ? 'wss.bench' : 'ws.bench';
    await ask({ open: 100, url, host });
    await ask({ close: true });
    await sleep(settle);
    gc();
    // Kept on disk while the second snapshot is taken, so the first one's table is not counted in it.
    const h0File = join(tmpdir(), `ws-idle-heap-${process.pid}.json`);
    if (args.snapshot) writeFileSync(h0File, JSON.stringify([...histogram(args.retainers === true)]));
    gc();
    const before = mem();
    const { opened = 0 } = await ask({ open: n, url, host });
    await sleep(settle);
    const openNoGc = mem();
    // With --reclaim the process is left as the bench leaves it: no forced collection while the tunnels are open.
    if (args.reclaim === undefined) gc();
    const open = mem();
    const h1 = args.snapshot ? histogram(args.retainers === true) : undefined;
    const h0 = args.snapshot
      ? new Map<string, { count: number; bytes: number }>(JSON.parse(readFileSync(h0File, 'utf8')))
      : undefined;
    if (args.snapshot) rmSync(h0File);
    console.log(`${opened} tunnels open (${args.wss ? 'wss' : 'ws'}); per tunnel, KiB:`);
    if (h0 && h1) {
      // Parsing the snapshots in this process moves RSS by far more than the tunnels: heap figures only.
      printDiff(h0, h1, opened);
      return;
    }
    console.table({
      'open, no forced gc': perTunnel(before, openNoGc, opened),
      'open, after gc': perTunnel(before, open, opened),
    });
    await ask({ close: true });
    const growth = openNoGc.rssKiB - before.rssKiB;
    const report = (what: string, m: Mem) => {
      console.log(
        `${what}: rss ${m.rssKiB} KiB (before ${before.rssKiB}, open ${openNoGc.rssKiB}); returned ${((openNoGc.rssKiB - m.rssKiB) / growth).toFixed(2)}`,
      );
      console.table({ [`${what} (vs before)`]: perTunnel(before, m, opened) });
    };
    if (args.reclaim !== undefined) {
      // What a reclaim a moment after the close gives back, and what it costs the event loop.
      await sleep(Number(args['reclaim-delay']));
      const g = (globalThis as { gc?: (o: object) => unknown }).gc as (o: object) => unknown;
      const t0 = performance.now();
      if (args.reclaim === 'last-resort') g({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      else if (args.reclaim === 'major') g({ type: 'major', execution: 'sync' });
      else if (args.reclaim === 'minor') g({ type: 'minor', execution: 'sync' });
      else if (args.reclaim === 'major-async') await g({ type: 'major', execution: 'async' });
      console.log(`reclaim ${args.reclaim}: ${(performance.now() - t0).toFixed(1)} ms in the call`);
    }
    await sleep(Number(args['close-settle']));
    report(`after close + ${args['close-settle']} ms`, mem());
    if (args.reclaim !== undefined) return;
    // What a memory-reducing full GC would give back (V8's last-resort GC: reduce-memory flags, pools released).
    (globalThis as { gc?: (o: object) => void }).gc?.({
      type: 'major',
      execution: 'sync',
      flavor: 'last-resort',
    });
    await sleep(1000);
    report('after a last-resort gc', mem());
  } finally {
    child.kill();
    await dp.shutdown({ drainTimeoutMs: 100 });
  }
}

function printDiff(
  a: Map<string, { count: number; bytes: number }>,
  b: Map<string, { count: number; bytes: number }>,
  n: number,
): void {
  const rows: { key: string; perTunnel: number; bytesPerTunnel: number }[] = [];
  for (const [key, v] of b) {
    const base = a.get(key) ?? { count: 0, bytes: 0 };
    const bytes = (v.bytes - base.bytes) / n;
    if (Math.abs(bytes) < 8) continue;
    rows.push({
      key,
      perTunnel: Number(((v.count - base.count) / n).toFixed(2)),
      bytesPerTunnel: Math.round(bytes),
    });
  }
  rows.sort((x, y) => y.bytesPerTunnel - x.bytesPerTunnel);
  const total = rows.reduce((s, r) => s + r.bytesPerTunnel, 0);
  console.log(`heap snapshot, per tunnel: ${total} bytes in the rows below (objects >= 8 B per tunnel)`);
  console.table(rows.slice(0, 60));
}

async function childMain(): Promise<void> {
  const { WebSocketServer, default: WebSocket } = await import('ws');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  let sockets: InstanceType<typeof WebSocket>[] = [];
  process.on(
    'message',
    async (m: { start?: boolean; open?: number; url?: string; host?: string; close?: boolean }) => {
      if (m.start) process.send?.({ port: (wss.address() as { port: number }).port });
      if (m.open !== undefined) {
        for (let i = 0; i < m.open; i += 100) {
          const batch = Array.from(
            { length: Math.min(100, m.open - i) },
            () =>
              new Promise<InstanceType<typeof WebSocket> | undefined>((resolve) => {
                const ws = new WebSocket(m.url as string, {
                  headers: { host: m.host as string },
                  rejectUnauthorized: false,
                });
                ws.once('open', () => resolve(ws));
                ws.once('error', () => resolve(undefined));
              }),
          );
          for (const ws of await Promise.all(batch)) if (ws) sockets.push(ws);
        }
        process.send?.({ opened: sockets.length });
      }
      if (m.close) {
        await Promise.all(
          sockets.map(
            (ws) =>
              new Promise((r) => {
                ws.once('close', r);
                ws.close();
              }),
          ),
        );
        sockets = [];
        process.send?.({});
      }
    },
  );
}

if (args.child) await childMain();
else await parent();
