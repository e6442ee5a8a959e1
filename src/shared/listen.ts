import type { Server } from 'node:net';

/** Listens on bindAddress:port; resolves with the bound port (port 0 picks a free one). Shared by every listener. */
export function listen(server: Server, bindAddress: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bindAddress, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}
