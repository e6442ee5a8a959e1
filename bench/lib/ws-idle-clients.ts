import { join } from 'node:path';
import type { ProcessGroup, Started } from './procs.ts';
import type { ClientReply, ClientRequest } from './ws-idle-client.ts';

/** Opens and closes idle tunnels for bench/lib/ws-idle.ts; `open` resolves with how many opened. */
export interface TunnelOpener {
  open(n: number): Promise<number>;
  closeAll(): Promise<void>;
}

/** Per-request deadline: 20,000 TLS tunnels through a proxy on a loaded core take minutes, not hours. */
const REPLY_TIMEOUT_MS = 600_000;

/**
 * The idle WebSockets, held by child processes (bench/lib/ws-idle-client.ts) with `shares[i]` tunnels at
 * most in child i, so none of them (nor the bench) reaches the open-files limit. Children are started in
 * `procs`, so its close() ends them on any exit.
 */
export class TunnelClients implements TunnelOpener {
  readonly #procs: ProcessGroup;
  readonly #children: { proc: Started; share: number; held: number }[];

  private constructor(procs: ProcessGroup, children: { proc: Started; share: number; held: number }[]) {
    this.#procs = procs;
    this.#children = children;
  }

  /** Starts one child per share, each opening `url` with Host `host` (SNI too for wss); resolves once all are ready. */
  static async start(
    procs: ProcessGroup,
    o: { url: string; host: string; shares: readonly number[]; logDir: string },
  ): Promise<TunnelClients> {
    const script = join(import.meta.dirname, 'ws-idle-client.ts');
    const children = o.shares.map((share, i) => ({
      proc: procs.spawn(
        { name: `ws-idle-client-${i}`, cmd: process.execPath, args: [script, o.url, o.host], ipc: true },
        o.logDir,
      ),
      share,
      held: 0,
    }));
    const clients = new TunnelClients(procs, children);
    try {
      await Promise.all(children.map((c) => ask(c.proc, undefined)));
    } catch (err) {
      await clients.stop();
      throw err;
    }
    return clients;
  }

  /** Pids of the children (for per-process descriptor counts). */
  get pids(): number[] {
    return this.#children.map((c) => c.proc.pid);
  }

  /**
   * Opens `n` more tunnels, filling the children in order (one child at a time, batches of 100 inside it, so
   * the proxy sees the same arrival pattern as with one client process). Never puts more than its share in
   * a child; what does not fit is counted as not opened.
   */
  async open(n: number): Promise<number> {
    let left = n;
    let opened = 0;
    for (const c of this.#children) {
      const take = Math.min(left, Math.max(0, c.share - c.held));
      if (take === 0) continue;
      const reply = await ask(c.proc, { op: 'open', n: take });
      if (!('opened' in reply)) throw new Error(`${c.proc.name}: unexpected reply ${JSON.stringify(reply)}`);
      c.held += reply.opened;
      opened += reply.opened;
      left -= take;
      if (left === 0) break;
    }
    return opened;
  }

  /** Closes every tunnel, all children at once (as one process closing all its sockets did). */
  async closeAll(): Promise<void> {
    await Promise.all(
      this.#children.map(async (c) => {
        await ask(c.proc, { op: 'close' });
        c.held = 0;
      }),
    );
  }

  /** Stops the children (their sockets close with them). */
  async stop(): Promise<void> {
    await Promise.all(this.#children.map((c) => this.#procs.stop(c.proc)));
  }
}

/** Sends `request` (none: waits for the child's ready message) and resolves with the child's next message. */
function ask(p: Started, request: ClientRequest | undefined): Promise<ClientReply> {
  const what = request?.op ?? 'start';
  return new Promise((resolve, reject) => {
    const onMessage = (m: ClientReply) => {
      done();
      resolve(m);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`${p.name} exited (${code}) during ${what}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${p.name}: no answer to ${what} within ${REPLY_TIMEOUT_MS} ms`));
    }, REPLY_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      p.child.off('message', onMessage);
      p.child.off('exit', onExit);
    };
    p.child.on('message', onMessage);
    p.child.once('exit', onExit);
    if (request !== undefined) p.child.send(request);
  });
}
