import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { CliProcess, entry, tempDir } from './helpers.ts';

/** Resolves 'open' when a TCP connection to host:port is accepted, 'refused' when it is refused. */
function probe(host: string, port: number): Promise<'open' | 'refused'> {
  return new Promise((resolve, reject) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve('open');
    });
    s.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNREFUSED' ? resolve('refused') : reject(err),
    );
  });
}

describe('the admin listener (metrics, stats, probes)', () => {
  test('binds loopback by default: reachable on 127.0.0.1, refused on any other address', async (t) => {
    const { dir, cleanup } = await tempDir('si-admin-');
    t.after(cleanup);
    // No --admin-bind-address: the default is what is under test.
    const p = new CliProcess(
      [
        entry,
        'serve',
        '--manifests',
        dir,
        '--bind-address',
        '127.0.0.1',
        '--http-port',
        '0',
        '--https-port',
        '0',
        '--admin-port',
        '0',
      ],
      {},
    );
    t.after(() => p.kill());
    const listening = await p.waitForRecord((r) => r.msg === 'listening', 'listening line');
    const admin = Number(listening.admin);
    assert.equal(await probe('127.0.0.1', admin), 'open');
    // 127.0.0.2 is another local address (all of 127.0.0.0/8 is loopback on Linux): a 0.0.0.0 bind would
    // accept it, as it would accept the pod IP from any other pod in the cluster.
    assert.equal(await probe('127.0.0.2', admin), 'refused');
  });
});
