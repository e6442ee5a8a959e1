import {
  type ClientHttp2Session,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

/** A buffered HTTP/2 response: status, headers (multi-valued set-cookie as an array), raw pairs, body. */
export interface H2Response {
  status: number;
  headers: IncomingHttpHeaders;
  raw: string[];
  body: string;
}

/** An HTTP/2 session to 127.0.0.1:`port` over TLS with SNI `servername` (certificates not verified). */
export function h2Session(port: number, servername: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(`https://127.0.0.1:${port}`, { servername, rejectUnauthorized: false });
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
  });
}

/** One request on `session`; `body` is sent as DATA without a content-length unless the headers give one. */
export function h2Request(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: string,
): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let status = 0;
    let got: IncomingHttpHeaders = {};
    let raw: string[] = [];
    const chunks: Buffer[] = [];
    stream.on('response', (h, _flags, rawHeaders) => {
      status = Number(h[':status']);
      got = h;
      raw = rawHeaders as unknown as string[];
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status, headers: got, raw, body: Buffer.concat(chunks).toString() }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

/** HTTP/2 frame types and flags used by the hand-built attack frames (RFC 9113 6). */
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, CONTINUATION: 9 };
export const FLAG = { END_STREAM: 1, END_HEADERS: 4, ACK: 1 };

/** One frame: 9-byte header (RFC 9113 4.1) and `payload`. */
export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK string length with a 7-bit prefix, no Huffman (RFC 7541 5.1, 5.2). */
function hpackLength(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const out = [127];
  let rest = n - 127;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** An HPACK literal header field without indexing, new name (RFC 7541 6.2.2). */
export function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name);
  const v = Buffer.from(value);
  return Buffer.concat([Buffer.from([0x00]), hpackLength(n.length), n, hpackLength(v.length), v]);
}

/** HPACK block of `GET https://<authority>/`: static-table :method GET, :scheme https, :path / (RFC 7541 A). */
export function getBlock(authority: string): Buffer {
  const a = Buffer.from(authority);
  return Buffer.concat([Buffer.from([0x82, 0x87, 0x84, 0x01, a.length]), a]);
}

/** The client connection preface and an empty SETTINGS frame (RFC 9113 3.4). */
export const PREFACE = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  frame(FRAME.SETTINGS, 0, 0),
]);

/** What a raw h2 connection saw from the server: frame types received, GOAWAY error code, closed or not. */
export interface RawH2 {
  socket: TLSSocket;
  types: number[];
  /** Error code of the first GOAWAY received. */
  goaway: number | undefined;
  resets: number;
  closed: Promise<void>;
}

/** A raw TLS connection negotiating h2, with the server's frames parsed as they arrive. */
export function rawH2(port: number, servername: string): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      servername,
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
    });
    let buf = Buffer.alloc(0);
    const state: RawH2 = {
      socket,
      types: [],
      goaway: undefined,
      resets: 0,
      closed: new Promise((r) => socket.once('close', () => r())),
    };
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3] as number;
        state.types.push(type);
        // The first GOAWAY carries the reason; a graceful close may follow it with NO_ERROR.
        if (type === FRAME.GOAWAY && state.goaway === undefined) state.goaway = buf.readUInt32BE(9 + 4);
        if (type === FRAME.RST_STREAM) state.resets++;
        buf = buf.subarray(9 + len);
      }
    });
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') reject(new Error(`ALPN ${socket.alpnProtocol}`));
      else resolve(state);
    });
    socket.once('error', reject);
  });
}
