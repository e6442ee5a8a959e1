import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCommand } from '../../cmd/args.ts';
import { envName, serveSchema } from '../../cmd/config.ts';
import { helpText, serveKeys } from '../../cmd/help.ts';
import { runCli } from './helpers.ts';

describe('serve settings: flags and env', () => {
  test('defaults, env honoured, the flag wins over env', () => {
    const env = {
      STICKY_INGRESS_HTTP_PORT: '81',
      STICKY_INGRESS_HTTPS_PORT: '444',
      STICKY_INGRESS_DRAIN_TIMEOUT: '2m',
    };
    const cmd = parseCommand(
      ['--https-port', '8444', '--trusted-proxies', '10.0.0.0/8, 127.0.0.1/32'],
      env,
      serveKeys,
    );
    assert.equal(cmd.settings.httpPort, 81);
    assert.equal(cmd.settings.httpsPort, 8444);
    assert.equal(cmd.settings.drainTimeout, 120_000);
    assert.equal(cmd.settings.adminPort, 9090);
    assert.equal(cmd.settings.leaderElection, true);
    assert.deepEqual(cmd.settings.trustedProxies, ['10.0.0.0/8', '127.0.0.1/32']);
  });

  test('a bad flag value names the flag, the value and the allowed form', () => {
    assert.throws(() => parseCommand(['--http-port', 'eighty'], {}, serveKeys), {
      code: 'STICKY_ERR_CLI_USAGE',
      message: /^invalid --http-port "eighty": expected PORT \(0-65535\)/,
    });
  });

  test('--tls-groups: OpenSSL group names pass, an unknown group or a malformed list is a usage error', () => {
    const ok = parseCommand(['--tls-groups', 'X25519:P-256'], {}, serveKeys);
    assert.equal(ok.settings.tlsGroups, 'X25519:P-256');
    assert.equal(parseCommand([], {}, serveKeys).settings.tlsGroups, undefined);
    assert.throws(() => parseCommand(['--tls-groups', 'X25519:no-such-group'], {}, serveKeys), {
      code: 'STICKY_ERR_CLI_USAGE',
      message: /^invalid --tls-groups "X25519:no-such-group": .*knows no such group list/,
    });
    assert.throws(() => parseCommand([], { STICKY_INGRESS_TLS_GROUPS: 'X25519 P-256' }, serveKeys), {
      message:
        /^invalid env STICKY_INGRESS_TLS_GROUPS "X25519 P-256": expected GROUP\[:GROUP\.\.\.\] \(expected group names separated by colons/,
    });
  });

  test('a bad env value names the env var', () => {
    assert.throws(() => parseCommand([], { STICKY_INGRESS_SHUTDOWN_DELAY: '5 seconds' }, serveKeys), {
      message: /^invalid env STICKY_INGRESS_SHUTDOWN_DELAY "5 seconds": expected DURATION/,
    });
  });

  test('an unknown flag is a usage error', () => {
    assert.throws(() => parseCommand(['--no-such-flag', 'x'], {}, serveKeys), {
      code: 'STICKY_ERR_CLI_USAGE',
    });
  });

  test('serve --help lists every setting with its env name and default', () => {
    const help = helpText('serve');
    for (const key of Object.keys(serveSchema.shape))
      assert.ok(help.includes(envName(key)), `${key} missing`);
    assert.match(help, /--shutdown-delay DURATION.*\n.*\(default 5s\)/);
    assert.match(help, /--http-port PORT \(0-65535\)\n.*\(default 8080\)\n\s+env STICKY_INGRESS_HTTP_PORT/);
  });
});

describe('sticky-ingress process: usage errors', () => {
  test('bad flag value: exit 2 and a message naming the flag', async () => {
    const r = await runCli(['serve', '--manifests', '.', '--admin-port', '70000']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid --admin-port "70000": expected PORT \(0-65535\)/);
  });

  test('bad env value: exit 2 and a message naming the env var', async () => {
    const r = await runCli(['serve', '--manifests', '.'], { STICKY_INGRESS_LOG_LEVEL: 'loud' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid env STICKY_INGRESS_LOG_LEVEL "loud": expected trace\|debug/);
  });

  test('a short affinity key file: exit 2 naming the flag', async () => {
    const r = await runCli(['serve', '--manifests', '.', '--affinity-key-file', '/dev/null']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--affinity-key-file \/dev\/null: key is 0 bytes, needs at least 16/);
  });

  test('--help and --version exit 0', async () => {
    const help = await runCli(['explain', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--cookie NAME=VALUE/);
    assert.match(help.stdout, /env STICKY_INGRESS_INGRESS_CLASS/);
    const version = await runCli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^sticky-ingress \d+\.\d+\.\d+/);
  });
});
