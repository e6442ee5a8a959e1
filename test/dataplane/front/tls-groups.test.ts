import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { Dataplane } from '../../../src/dataplane/dataplane.ts';
import { makeCert } from '../helpers/certs.ts';
import { startDataplane, type TestDataplane, testDataplaneOptions } from '../helpers/dataplane.ts';
import { buildSnapshot } from '../helpers/snapshot.ts';

// `--tls-groups` (DataplaneOptions.tlsGroups): the key-exchange groups the HTTPS listener offers. What a client
// sees is the group its handshake negotiated (the client's own view of the key exchange), for the default
// certificate (no SNI) and for a host's certificate picked by SNI, which is a context of its own.

/** The key-exchange group a client offering `groups` (its default list when undefined) negotiates, or its error. */
function negotiated(port: number, servername: string | undefined, groups?: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ...(servername ? { servername } : {}),
      rejectUnauthorized: false,
      ...(groups ? { ecdhCurve: groups } : {}),
    });
    socket.once('secureConnect', () => {
      const name = socket.getEphemeralKeyInfo();
      socket.destroy();
      resolve(name !== null && 'name' in name ? String(name.name) : 'none');
    });
    socket.once('error', (err) => resolve(`error: ${err.message}`));
  });
}

describe('TLS key-exchange groups', () => {
  let byDefault: TestDataplane;
  let classical: TestDataplane;

  before(async () => {
    const cert = await makeCert(['app.test'], 'app', 'ec');
    const snapshot = buildSnapshot({
      hosts: [{ hostname: 'app.test', tls: 'default/app', routes: [{ backend: 'web' }] }],
      backends: [{ id: 'web', endpoints: [1] }],
      certificates: [{ id: 'default/app', ...cert }],
    });
    byDefault = await startDataplane();
    classical = await startDataplane({ tlsGroups: 'X25519:P-256' });
    byDefault.dp.apply(snapshot);
    classical.dp.apply(snapshot);
  });
  after(async () => {
    await byDefault?.close();
    await classical?.close();
  });

  test('by default a current client gets the post-quantum hybrid, with SNI and without', async () => {
    for (const sni of ['app.test', undefined]) {
      assert.equal(await negotiated(byDefault.dp.ports.https, sni), 'X25519MLKEM768', `SNI ${sni}`);
    }
  });

  test('with X25519:P-256 the same client gets X25519, a P-256-only client P-256 (prime256v1), on both contexts', async () => {
    for (const sni of ['app.test', undefined]) {
      assert.equal(await negotiated(classical.dp.ports.https, sni), 'X25519', `SNI ${sni}`);
      assert.equal(await negotiated(classical.dp.ports.https, sni, 'P-256'), 'prime256v1', `SNI ${sni}`);
    }
  });

  test('the groups stay when the snapshot changes the default certificate (the listener gets a new context)', async () => {
    const t = await startDataplane({ tlsGroups: 'X25519:P-256' });
    try {
      const cert = await makeCert(['other.test'], 'other', 'ec');
      t.dp.apply(
        buildSnapshot({
          hosts: [{ hostname: 'other.test', tls: 'default/other', routes: [{ backend: 'web' }] }],
          backends: [{ id: 'web', endpoints: [1] }],
          certificates: [{ id: 'default/other', ...cert }],
          defaultCertificate: 'default/other',
        }),
      );
      assert.equal(await negotiated(t.dp.ports.https, undefined), 'X25519');
      assert.equal(await negotiated(t.dp.ports.https, undefined, 'P-256'), 'prime256v1');
    } finally {
      await t.close();
    }
  });

  test('a client offering only a group not on the list fails its handshake; the listener keeps serving', async () => {
    const refused = await negotiated(classical.dp.ports.https, 'app.test', 'X25519MLKEM768');
    assert.match(refused, /^error: /);
    assert.equal(await negotiated(classical.dp.ports.https, 'app.test'), 'X25519');
  });

  test('an unknown group or a malformed list is refused when the dataplane is built', () => {
    for (const tlsGroups of ['X25519:no-such-group', 'X25519;P-256', '']) {
      assert.throws(() => new Dataplane(testDataplaneOptions({ tlsGroups })), {
        code: 'STICKY_ERR_OPTION_INVALID',
        message: /tlsGroups/,
      });
    }
  });
});
