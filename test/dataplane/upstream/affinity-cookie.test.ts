import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Upstreams } from '../../../src/dataplane/upstream/upstreams.ts';
import type { AffinityPolicy, Backend } from '../../../src/snapshot/index.ts';
import { affinity, backend, endpoint, KEY } from './fixtures.ts';

const NOW = Date.UTC(2030, 0, 2, 3, 4, 5);
const ID = 'default/chat:http';

function setup(policy: AffinityPolicy, endpoints = [endpoint(1), endpoint(2), endpoint(3)], key = KEY) {
  const up = new Upstreams({ affinityKey: key, now: () => NOW });
  const b = backend(endpoints, { affinity: policy });
  up.update([b]);
  return { up, b, state: () => up.backend(ID)! };
}

/** `route=<value>` for the endpoint `id`, learned the way a browser would: from a Set-Cookie. */
function cookieFor(up: Upstreams, id: string): string {
  const b = up.backend(ID)!;
  for (let i = 0; i < 20; i++) {
    const s = b.pick(undefined, true)!;
    if (s.endpoint.id === id) return s.setCookie!.split(';')[0]!;
  }
  throw new Error(`never picked ${id}`);
}

describe('affinity cookie value', () => {
  test('identical across two instances with one key, different with another key', () => {
    const a = setup(affinity());
    const b = setup(affinity());
    const c = setup(affinity(), undefined, Buffer.from('another key, another cookie'));
    const id = 'default/chat-2:3000';
    assert.equal(cookieFor(a.up, id), cookieFor(b.up, id));
    assert.notEqual(cookieFor(a.up, id), cookieFor(c.up, id));
    assert.notEqual(cookieFor(a.up, id), cookieFor(a.up, 'default/chat-1:3000'));
  });

  test('opaque: no address or port, 22 base64url characters', () => {
    const { up } = setup(affinity());
    const value = cookieFor(up, 'default/chat-1:3000').slice('route='.length);
    assert.match(value, /^[A-Za-z0-9_-]{22}$/);
    for (const leak of ['127', '0.0.11', '3000', 'chat'])
      assert.ok(!value.includes(leak), `${value} holds ${leak}`);
  });
});

describe('affinity selection', () => {
  test('no cookie => new + Set-Cookie; that cookie => hit on the same endpoint, no Set-Cookie', () => {
    const { state } = setup(affinity());
    for (let i = 0; i < 6; i++) {
      const first = state().pick('theme=dark', false)!;
      assert.equal(first.affinity, 'new');
      const cookie = `theme=dark; ${first.setCookie!.split(';')[0]}; lang=en`;
      for (let j = 0; j < 5; j++) {
        const again = state().pick(cookie, false)!;
        assert.deepEqual(again, { endpoint: first.endpoint, affinity: 'hit' });
      }
    }
  });

  test('unknown, empty or malformed cookies are new sessions; the cookie is found in messy headers', () => {
    const { up, state } = setup(affinity());
    const good = cookieFor(up, 'default/chat-3:3000').slice('route='.length);
    for (const header of [
      'route=bogus',
      'route=',
      'route',
      ';;;',
      `xroute=${good}`,
      `a=1;route ;b=${good}`,
    ]) {
      assert.equal(state().pick(header, false)!.affinity, 'new', header);
    }
    for (const header of [
      `route=${good}`,
      `a=1;route=${good}`,
      `a=1 ;  route = ${good} ;`,
      `route="${good}"`,
      `route=stale; route=${good}`,
      `myroute=x; route=${good}`,
    ]) {
      const s = state().pick(header, false)!;
      assert.equal(s.affinity, 'hit', header);
      assert.equal(s.endpoint.id, 'default/chat-3:3000');
    }
  });

  test('balanced: re-pick and re-issue when the pinned endpoint goes, terminates or is ejected', () => {
    const { up, b } = setup(affinity());
    const cookie = cookieFor(up, 'default/chat-1:3000');
    const cases: [string, Backend['endpoints']][] = [
      ['terminating', [endpoint(1, { terminating: true, ready: false }), endpoint(2), endpoint(3)]],
      ['not ready', [endpoint(1, { ready: false }), endpoint(2), endpoint(3)]],
    ];
    for (const [why, endpoints] of cases) {
      up.update([{ ...b, endpoints }]);
      const s = up.backend(ID)!.pick(cookie, false)!;
      assert.equal(s.affinity, 'reissued', why);
      assert.notEqual(s.endpoint.id, 'default/chat-1:3000', why);
      assert.ok(s.setCookie?.startsWith('route='), why);
      assert.equal(up.backend(ID)!.pick(s.setCookie!.split(';')[0], false)!.affinity, 'hit', why);
    }
    up.update([b]);
    for (let i = 0; i < 3; i++) [...up.endpoints()][0]!.connectFailed();
    assert.equal(up.backend(ID)!.pick(cookie, false)!.affinity, 'reissued');
    up.update([{ ...b, endpoints: [endpoint(2), endpoint(3)] }]);
    // Gone: the value is unknown now, so it is a new session.
    assert.equal(up.backend(ID)!.pick(cookie, false)!.affinity, 'new');
  });

  test('balanced panic: with every endpoint ejected the pinned one keeps its sessions', () => {
    const { up, state } = setup(affinity());
    const cookie = cookieFor(up, 'default/chat-2:3000');
    for (const e of up.endpoints()) for (let i = 0; i < 3; i++) e.connectFailed();
    assert.equal(state().pick(cookie, false)!.affinity, 'hit');
  });

  test('persistent: keeps a terminating or ejected endpoint while it exists', () => {
    const { up, b } = setup(affinity({}, { mode: 'persistent' }));
    const cookie = cookieFor(up, 'default/chat-1:3000');
    up.update([{ ...b, endpoints: [endpoint(1, { terminating: true, ready: false }), endpoint(2)] }]);
    for (let i = 0; i < 3; i++) [...up.endpoints()][0]!.connectFailed();
    const s = up.backend(ID)!.pick(cookie, false)!;
    assert.deepEqual([s.affinity, s.endpoint.id, s.setCookie], ['hit', 'default/chat-1:3000', undefined]);
    // New sessions still avoid it.
    for (let i = 0; i < 5; i++)
      assert.equal(up.backend(ID)!.pick(undefined, false)!.endpoint.id, 'default/chat-2:3000');
  });

  test('connect failure of the pinned endpoint: changeOnFailure re-pins, otherwise this request only', () => {
    const exclude = new Set(['default/chat-1:3000']);
    const on = setup(affinity({}, { changeOnFailure: true }));
    const s1 = on.state().pick(cookieFor(on.up, 'default/chat-1:3000'), false, exclude)!;
    assert.equal(s1.affinity, 'reissued');
    assert.notEqual(s1.endpoint.id, 'default/chat-1:3000');
    assert.equal(on.state().pick(s1.setCookie!.split(';')[0], false)!.endpoint, s1.endpoint);

    const off = setup(affinity({}, { changeOnFailure: false }));
    const s2 = off.state().pick(cookieFor(off.up, 'default/chat-1:3000'), false, exclude)!;
    assert.equal(s2.affinity, 'none');
    assert.equal(s2.setCookie, undefined);
    assert.notEqual(s2.endpoint.id, 'default/chat-1:3000');

    const all = new Set(['default/chat-1:3000', 'default/chat-2:3000', 'default/chat-3:3000']);
    assert.equal(off.state().pick(cookieFor(off.up, 'default/chat-1:3000'), false, all), undefined);
  });

  test('cookie values survive an update that changes nothing about the Service', () => {
    const { up, b } = setup(affinity());
    const cookie = cookieFor(up, 'default/chat-2:3000');
    up.update([{ ...b, endpoints: [endpoint(2, { address: '127.0.0.99' }), endpoint(4)] }]);
    assert.equal(up.backend(ID)!.pick(cookie, false)!.affinity, 'hit');
    up.update([{ ...b, service: { ...b.service, port: 'ws' } }]);
    assert.equal(up.backend(ID)!.pick(cookie, false)!.affinity, 'new');
  });
});

describe('Set-Cookie attributes', () => {
  const value = (s: string) => s.split(';')[0]!;

  test('every attribute, Expires as an HTTP-date from now', () => {
    const { state } = setup(
      affinity({
        name: 'sticky',
        path: '/chat',
        domain: 'example.com',
        maxAgeSeconds: 3600,
        expiresSeconds: 86_400,
        sameSite: 'Lax',
        secure: 'always',
        httpOnly: true,
      }),
    );
    const s = state().pick(undefined, false)!.setCookie!;
    assert.equal(
      s,
      `${value(s)}; Path=/chat; Domain=example.com; Max-Age=3600; SameSite=Lax; Secure; HttpOnly; ` +
        'Expires=Thu, 03 Jan 2030 03:04:05 GMT',
    );
    assert.match(value(s), /^sticky=[A-Za-z0-9_-]{22}$/);
  });

  test('session cookie: no Max-Age or Expires; no HttpOnly when off', () => {
    const { state } = setup(affinity({ httpOnly: false }));
    const s = state().pick(undefined, false)!.setCookie!;
    assert.equal(s, `${value(s)}; Path=/`);
  });

  test('Secure: auto only on https, always on both, SameSite=None forces it', () => {
    const auto = setup(affinity({ secure: 'auto', httpOnly: false })).state();
    assert.ok(!auto.pick(undefined, false)!.setCookie!.includes('Secure'));
    assert.match(auto.pick(undefined, true)!.setCookie!, /; Path=\/; Secure$/);
    const always = setup(affinity({ secure: 'always', httpOnly: false })).state();
    assert.match(always.pick(undefined, false)!.setCookie!, /; Path=\/; Secure$/);
    const none = setup(affinity({ secure: 'auto', sameSite: 'None', httpOnly: false })).state();
    assert.match(none.pick(undefined, false)!.setCookie!, /; Path=\/; SameSite=None; Secure$/);
    assert.equal(none.pick(undefined, true)!.setCookie!.split('Secure').length, 2, 'Secure once');
  });

  test('an unsafe cookie policy turns affinity off for that backend, reported, and keeps serving', () => {
    const problems: string[] = [];
    const up = new Upstreams({ affinityKey: KEY, onConfigProblem: (b, m) => problems.push(`${b.id}: ${m}`) });
    const b = backend([endpoint(1)], { affinity: affinity({ name: 'bad;name' }) });
    up.update([b]);
    up.update([b]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^default\/chat:http: affinity disabled: cookie name/);
    assert.deepEqual(up.backend(ID)!.pick('bad;name=x', true)?.affinity, 'none');
    const pathProblem = new Upstreams({ affinityKey: KEY });
    pathProblem.update([backend([endpoint(1)], { affinity: affinity({ path: '/a\r\nX: y' }) })]);
    assert.equal(pathProblem.backend(ID)!.problem?.includes('path'), true);
  });
});
