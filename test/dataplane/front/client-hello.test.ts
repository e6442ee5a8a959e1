import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { ClientHelloReader, type HelloStep } from '../../../src/dataplane/front/client-hello.ts';

/** The first TLS record a real node client sends for `servername` (its ClientHello), captured on loopback. */
async function captureHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
          resolve(buf.subarray(0, 5 + buf.readUInt16BE(3)));
          s.destroy();
        }
      });
    });
  });
  const client = tlsConnect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}) });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  await new Promise((r) => server.close(r));
  return hello;
}

function feed(bytes: Buffer, step = bytes.length): HelloStep {
  const reader = new ClientHelloReader();
  let last: HelloStep = { state: 'more' };
  for (let i = 0; i < bytes.length && last.state === 'more'; i += step)
    last = reader.push(bytes.subarray(i, i + step));
  return last;
}

describe('ClientHello SNI reader', () => {
  test('a real hello yields its SNI whole, byte by byte, and split over two records', async () => {
    const hello = await captureHello('Chat.Example.com');
    assert.deepEqual(feed(hello), { state: 'sni', name: 'chat.example.com' });
    assert.deepEqual(feed(hello, 1), { state: 'sni', name: 'chat.example.com' });
    const payload = hello.subarray(5);
    const record = (p: Buffer) => Buffer.concat([Buffer.from([22, 3, 1, p.length >> 8, p.length & 255]), p]);
    const split = Buffer.concat([record(payload.subarray(0, 3)), record(payload.subarray(3))]);
    assert.deepEqual(feed(split, 7), { state: 'sni', name: 'chat.example.com' });
  });

  test('a hello without SNI is `none`; a truncated one waits for more', async () => {
    const hello = await captureHello(undefined);
    assert.deepEqual(feed(hello), { state: 'none' });
    assert.deepEqual(feed(hello.subarray(0, hello.length - 1)), { state: 'more' });
  });

  test('hostile input is malformed at once, never buffered without bound', async () => {
    const hello = await captureHello('a.test');
    const cases: [string, Buffer][] = [
      ['not TLS', Buffer.from('GET / HTTP/1.1\r\n')],
      ['application data record', Buffer.from([23, 3, 3, 0, 5, 1, 2, 3, 4, 5])],
      ['empty record', Buffer.from([22, 3, 1, 0, 0])],
      ['record over 16 KiB', Buffer.from([22, 3, 1, 0x48, 0x01])],
      ['not a ClientHello', Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0])],
      ['hello over the bound', Buffer.from([22, 3, 1, 0, 4, 1, 0x01, 0x00, 0x00])],
      ['extensions longer than the hello', Buffer.concat([hello.subarray(0, hello.length - 4)])],
    ];
    for (const [name, bytes] of cases) {
      const step = feed(bytes);
      if (name === 'extensions longer than the hello') {
        // Cut inside the record: it waits, then the peer's silence is the timeout's job, not the parser's.
        assert.equal(step.state, 'more', name);
      } else assert.equal(step.state, 'malformed', name);
    }
    // A flood of small valid-looking records without an end stops at the buffer bound.
    const reader = new ClientHelloReader();
    reader.push(Buffer.from([22, 3, 1, 0, 4, 1, 0, 0x3f, 0xff]));
    let last: HelloStep = { state: 'more' };
    for (let i = 0; i < 10_000 && last.state === 'more'; i++)
      last = reader.push(Buffer.from([22, 3, 1, 0, 1, 0]));
    assert.equal(last.state, 'malformed');
  });
});
