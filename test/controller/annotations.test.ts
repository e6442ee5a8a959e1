import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ANNOTATION_DESCRIPTORS,
  NGINX_PREFIX,
  OWN_PREFIX,
  parseIngressAnnotations,
} from '../../src/controller/annotations/index.ts';

// One invalid value per key. Affinity is switched on around each so cookie settings are visible in the result.
const INVALID: Record<string, string> = {
  affinity: 'ip',
  'affinity-mode': 'sticky',
  'session-cookie-name': 'bad name',
  'session-cookie-max-age': '-1',
  'session-cookie-expires': '1.5',
  'session-cookie-path': 'socket.io',
  'session-cookie-domain': 'Example.COM',
  'session-cookie-samesite': 'lax',
  'session-cookie-secure': 'yes',
  'session-cookie-httponly': 'maybe',
  'session-cookie-change-on-failure': '1',
  'load-balance': 'ewma',
  // A variable outside the four (nginx would evaluate $host; we never evaluate anything).
  'upstream-hash-by': '$host$remote_addr',
  'ssl-redirect': 'TRUE',
  'force-ssl-redirect': 'on',
  hsts: 'yes',
  'hsts-max-age': '1y',
  'hsts-include-subdomains': 'x',
  'hsts-preload': '',
  'proxy-connect-timeout': '0',
  'proxy-read-timeout': '5s',
  'websocket-idle-timeout': '100000',
  'proxy-next-upstream-tries': '12',
  'health-check-path': 'healthz',
  'health-check-interval': '0',
  'permanent-redirect': 'javascript:alert(1)',
  'permanent-redirect-code': '200',
  'temporal-redirect': 'https://a b',
  'temporal-redirect-code': '304',
  'from-to-www-redirect': 'yes',
  'rewrite-target': 'no-slash',
  'use-regex': 'True',
  'app-root': 'app1',
  'x-forwarded-prefix': 'prefix',
  canary: 'yes',
  'canary-weight': '-5',
  'canary-weight-total': '0',
  'canary-by-header': 'X Canary',
  'canary-by-header-value': 'a\u0001b',
  'canary-by-header-pattern': '(?=lookahead)',
  'canary-by-cookie': 'bad;cookie',
  'affinity-canary-behavior': 'sometimes',
  'enable-cors': 'on',
  'cors-allow-origin': 'ftp://files.example.com',
  'cors-allow-methods': 'GET;POST',
  'cors-allow-headers': 'X-A: b',
  'cors-expose-headers': 'X A',
  'cors-allow-credentials': 'nope',
  'cors-max-age': '-1',
  'proxy-body-size': '8 MB',
  'client-body-buffer-size': '1t',
  'limit-rps': '0',
  'limit-rpm': '1.5',
  'limit-connections': 'many',
  'limit-burst-multiplier': '0',
  'limit-whitelist': '10.0.0.0/33',
  'ssl-passthrough': 'yes',
  'backend-protocol': 'SPDY',
  'proxy-ssl-secret': 'no-namespace',
  'proxy-ssl-verify': 'true',
  'proxy-ssl-name': 'Not A Name',
  'proxy-ssl-server-name': 'yes',
  'upstream-vhost': '$service_name.svc',
};

// Access control fails closed instead of falling back (an empty default would serve the route open).
const ACCESS_KEYS = new Set(['allowlist-source-range', 'whitelist-source-range', 'denylist-source-range']);
const FALLING_BACK = ANNOTATION_DESCRIPTORS.filter((d) => !ACCESS_KEYS.has(d.key));

describe('every invalid annotation value is reported and falls back to its default', () => {
  test('the table covers every descriptor but the access-control ones', () => {
    assert.deepEqual(Object.keys(INVALID).sort(), FALLING_BACK.map((d) => d.key).sort());
  });
  for (const d of FALLING_BACK) {
    test(d.key, () => {
      const base: Record<string, string> = {
        [`${OWN_PREFIX}health-check-path`]: '/healthz',
        [`${OWN_PREFIX}hsts`]: 'true',
      };
      if (d.key !== 'affinity') base[`${OWN_PREFIX}affinity`] = 'cookie';
      const key = OWN_PREFIX + d.key;
      const { config, issues } = parseIngressAnnotations({ ...base, [key]: INVALID[d.key] });
      assert.deepEqual(issues.length, 1, JSON.stringify(issues));
      assert.equal(issues[0]?.reason, 'InvalidAnnotation');
      if (d.refuseInvalid) {
        // Fail safe: a key whose default would route differently refuses the Ingress instead.
        assert.equal(issues[0]?.severity, 'Error');
        assert.equal(config.refused, true);
        return;
      }
      assert.equal(issues[0]?.annotation, key);
      assert.match(issues[0]?.message ?? '', new RegExp(`expected ${escapeRegExp(d.values)}`));
      const fallback = parseIngressAnnotations(
        d.key === 'health-check-path' || d.key === 'hsts' ? withoutKey(base, key) : base,
      );
      assert.deepEqual(config, fallback.config);
    });
  }
});

describe('access-control keys fail closed', () => {
  for (const key of ACCESS_KEYS) {
    for (const prefix of [OWN_PREFIX, NGINX_PREFIX]) {
      test(`an invalid ${prefix}${key} refuses the Ingress and restricts nothing silently`, () => {
        const { config, issues } = parseIngressAnnotations({ [prefix + key]: '10.0.0.0/8, 300.1.1.1' });
        assert.deepEqual(
          issues.map((i) => [i.severity, i.reason, i.refuses]),
          [['Error', 'InvalidAccessControl', true]],
        );
        assert.equal(config.access, undefined);
      });
    }
  }
  test('valid lists fill the policy: allow merges allowlist and whitelist, deny is separate', () => {
    const { config, issues } = parseIngressAnnotations({
      [`${NGINX_PREFIX}whitelist-source-range`]: '10.0.0.0/8',
      [`${OWN_PREFIX}allowlist-source-range`]: '::1, 192.168.0.1',
      [`${NGINX_PREFIX}denylist-source-range`]: '10.6.0.0/16',
    });
    assert.deepEqual(issues, []);
    assert.deepEqual(config.access, { allow: ['::1', '192.168.0.1', '10.0.0.0/8'], deny: ['10.6.0.0/16'] });
  });
});

describe('source and key hashing', () => {
  test('source-ip is a consistent hash of the client address', () => {
    const { config, issues } = parseIngressAnnotations({ [`${OWN_PREFIX}load-balance`]: 'source-ip' });
    assert.deepEqual(issues, []);
    assert.equal(config.balance, 'hash');
    assert.deepEqual(config.hashBy, [{ kind: 'remote-addr' }]);
  });
  test('upstream-hash-by parses into typed parts and wins over load-balance', () => {
    // nginx's braced form `${cookie_Team}`, spelled with a `$` the template literal lint accepts.
    const braced = `$${'{'}cookie_Team}`;
    const { config, issues } = parseIngressAnnotations({
      [`${NGINX_PREFIX}upstream-hash-by`]: `tenant:$http_x_tenant_id/${braced}-$request_uri`,
      [`${NGINX_PREFIX}load-balance`]: 'ewma',
    });
    assert.deepEqual(issues, []);
    assert.equal(config.balance, 'hash');
    assert.deepEqual(config.hashBy, [
      { kind: 'literal', text: 'tenant:' },
      { kind: 'header', name: 'x-tenant-id' },
      { kind: 'literal', text: '/' },
      { kind: 'cookie', name: 'Team' },
      { kind: 'literal', text: '-' },
      { kind: 'request-uri' },
    ]);
  });
  test('templates that are code, unknown variables or no variable at all are refused with a warning', () => {
    for (const bad of [
      '$host',
      '${remote_addr',
      'fixed',
      '$',
      '\u0007$remote_addr',
      'x'.repeat(300),
      '$(id)',
    ]) {
      const { config, issues } = parseIngressAnnotations({ [`${NGINX_PREFIX}upstream-hash-by`]: bad });
      assert.equal(config.balance, 'round-robin', bad);
      assert.equal(config.hashBy, undefined, bad);
      assert.equal(issues[0]?.reason, 'InvalidAnnotation', bad);
    }
  });
});

describe('ingress-nginx keys', () => {
  test('nginx spellings of the balancer map to ours', () => {
    assert.equal(
      parseIngressAnnotations({ [`${NGINX_PREFIX}load-balance`]: 'round_robin' }).config.balance,
      'round-robin',
    );
    assert.equal(
      parseIngressAnnotations({ [`${NGINX_PREFIX}load-balance`]: 'ewma' }).config.balance,
      'least-conn',
    );
  });
  test('our key wins over the nginx one, even when ours is the default value', () => {
    const { config, issues } = parseIngressAnnotations({
      [`${OWN_PREFIX}ssl-redirect`]: 'true',
      [`${NGINX_PREFIX}ssl-redirect`]: 'false',
    });
    assert.equal(config.sslRedirect, true);
    assert.deepEqual(issues, []);
  });
  test('keys we only read under our prefix are ignored under the nginx one, with a diagnostic', () => {
    const { config, issues } = parseIngressAnnotations({ [`${NGINX_PREFIX}hsts`]: 'true' });
    assert.equal(config.hsts, undefined);
    assert.equal(issues[0]?.reason, 'IgnoredAnnotation');
  });
  test('proxy-next-upstream-tries counts the first try; 0 (nginx: unlimited) is capped at 10 retries', () => {
    const tries = (v: string) =>
      parseIngressAnnotations({ [`${NGINX_PREFIX}proxy-next-upstream-tries`]: v }).config.retries;
    assert.equal(tries('1'), 0);
    assert.equal(tries('3'), 2);
    assert.equal(tries('0'), 10);
  });
  test('snippets are never interpreted: the config equals the one without them', () => {
    const evil = {
      [`${NGINX_PREFIX}configuration-snippet`]: 'proxy_pass http://169.254.169.254;',
      [`${NGINX_PREFIX}server-snippet`]: 'location / { return 200 pwned; }',
    };
    const { config, issues } = parseIngressAnnotations(evil);
    assert.deepEqual(config, parseIngressAnnotations({}).config);
    assert.deepEqual(
      issues.map((i) => i.annotation),
      Object.keys(evil).sort(),
    );
  });
  test('non-string and non-object annotations are ignored without a crash', () => {
    assert.deepEqual(parseIngressAnnotations({ [`${OWN_PREFIX}affinity`]: 42 }).issues, []);
    assert.equal(parseIngressAnnotations(null).config.balance, 'round-robin');
    assert.equal(parseIngressAnnotations('garbage').config.retries, 2);
  });
});

function withoutKey(obj: Record<string, string>, key: string): Record<string, string> {
  const { [key]: _, ...rest } = obj;
  return rest;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('affinity-mode drainable', () => {
  for (const prefix of [OWN_PREFIX, NGINX_PREFIX]) {
    for (const value of ['drainable', 'persistent-drainable']) {
      test(`${prefix}affinity-mode: ${value} gives mode drainable`, () => {
        const { config, issues } = parseIngressAnnotations({
          [`${prefix}affinity`]: 'cookie',
          [`${prefix}affinity-mode`]: value,
        });
        assert.deepEqual(issues, []);
        assert.equal(config.affinity?.mode, 'drainable');
      });
    }
  }
});

describe('affinity: socketio', () => {
  test('turns on cookie affinity and the sealed engine.io sid', () => {
    const { config, issues } = parseIngressAnnotations({ [`${OWN_PREFIX}affinity`]: 'socketio' });
    assert.deepEqual(issues, []);
    assert.equal(config.affinity?.socketio, true);
    assert.equal(config.affinity?.cookie.name, 'INGRESSCOOKIE', 'the cookie is still issued alongside');
  });
  test('affinity: cookie leaves the sid alone', () => {
    const { config } = parseIngressAnnotations({ [`${OWN_PREFIX}affinity`]: 'cookie' });
    assert.equal(config.affinity?.socketio, undefined);
  });
});
