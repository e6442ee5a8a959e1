import { connect, type Socket } from 'node:net';

/**
 * A raw TCP client for protocol-level tests: send exact bytes, collect everything the server answers until
 * it closes the connection (or `until` matches what was received so far).
 */
export function rawExchange(port: number, payload: string | undefined, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      received += d;
      if (until?.test(received)) socket.destroy();
    });
    socket.once('close', () => resolve(received));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' ? resolve(received) : reject(err),
    );
    if (payload !== undefined) socket.write(payload);
  });
}
