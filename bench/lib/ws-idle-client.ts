/**
 * Child process of the ws-idle bench: holds its share of the idle WebSockets (one descriptor each), so no
 * process of the bench reaches the open-files limit at 20,000 tunnels. Driven over the IPC channel by
 * bench/lib/ws-idle-clients.ts: `{op:'open', n}` -> `{opened, failed}`, `{op:'close'}` -> `{closed}`.
 * Usage (spawned with an IPC channel): node bench/lib/ws-idle-client.ts URL HOST
 */
import type WebSocket from 'ws';
import { close, open } from './ws-echo.ts';

/** A request from the parent. */
export type ClientRequest = { op: 'open'; n: number } | { op: 'close' };
/** The answer to one request. */
export type ClientReply =
  | { opened: number; failed: number; open: number }
  | { closed: number }
  | { ready: true };

const [url, host] = process.argv.slice(2) as [string, string];
const sockets: WebSocket[] = [];

// Batches of 100, as the in-process harness did: stays under accept backlogs, same pattern at the proxy.
async function openMany(n: number): Promise<{ opened: number; failed: number; open: number }> {
  let opened = 0;
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () =>
      open({ url, host }).catch(() => undefined),
    );
    for (const ws of await Promise.all(batch)) {
      if (ws === undefined) continue;
      sockets.push(ws);
      opened += 1;
    }
  }
  return { opened, failed: n - opened, open: sockets.length };
}

async function closeAll(): Promise<{ closed: number }> {
  const all = sockets.splice(0);
  await Promise.all(all.map((ws) => close(ws)));
  return { closed: all.length };
}

if (process.send === undefined) throw new Error('ws-idle-client runs as a child with an IPC channel');
process.on('message', (m: ClientRequest) => {
  const work = m.op === 'open' ? openMany(m.n) : closeAll();
  void work.then((reply: ClientReply) => process.send?.(reply));
});
// Sent once the listener is attached: a request sent earlier could be emitted before anyone listens.
process.send({ ready: true } satisfies ClientReply);
// The parent went away (crash, Ctrl-C): nothing left to hold the sockets for.
process.on('disconnect', () => process.exit(0));
