// session.Cookie and session.Session of hotsession/express against the real
// express-session classes and the `cookie` package they serialize with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Cookie, Session } from 'hotsession/express';

const require = createRequire(import.meta.url);
const EsCookie = require('express-session').Cookie;
const cookiePkg = require('cookie');

test('defaults: path /, httpOnly, no expiry', () => {
  const c = new Cookie();
  assert.equal(c.path, '/');
  assert.equal(c.httpOnly, true);
  assert.equal(c.expires, null);
  assert.equal(c.maxAge, null);
  assert.equal(c.originalMaxAge, null);
});

test('maxAge counts down from expires; expires resets originalMaxAge; a Date maxAge is an expiry', () => {
  const c = new Cookie({ maxAge: 60_000 });
  assert.ok(c.expires instanceof Date);
  assert.ok(c.maxAge <= 60_000 && c.maxAge > 59_000);
  // originalMaxAge is read back from expires (as express-session's Cookie does): a millisecond
  // that ticks between setting and reading leaves 59,999, so the test takes that as well.
  assert.ok(c.originalMaxAge <= 60_000 && c.originalMaxAge >= 59_990, `originalMaxAge ${c.originalMaxAge}`);
  const at = new Date(Date.now() + 5_000);
  c.expires = at;
  assert.ok(c.originalMaxAge <= 5_000 && c.originalMaxAge > 4_000);
  const d = new Cookie({ maxAge: at });
  assert.equal(d.expires.getTime(), at.getTime());
});

test('bad options are refused with express-session errors', () => {
  for (const bad of [42, 'x', true, () => {}]) assert.throws(() => new Cookie(bad), /argument options/);
  for (const bad of ['42', true, () => {}]) assert.throws(() => new Cookie({ maxAge: bad }), /maxAge/);
  const c = new Cookie({ data: { foo: 'bar' }, path: '/p' });
  assert.equal(c.data.path, '/p');
  assert.equal(c.data.foo, undefined);
});

// Every attribute combination: our JSON and Set-Cookie equal express-session's, byte for byte.
const choices = {
  path: [undefined, '/', '/admin'],
  domain: [undefined, 'example.com', '.sub.example.org'],
  httpOnly: [undefined, true, false],
  secure: [undefined, true, false],
  partitioned: [undefined, true, false],
  priority: [undefined, 'low', 'Medium', 'HIGH'],
  sameSite: [undefined, true, false, 'lax', 'Strict', 'none'],
  expires: [undefined, new Date('2031-02-03T04:05:06.789Z')],
};

function* combos(keys, acc = {}) {
  if (keys.length === 0) return yield { ...acc };
  const [k, ...rest] = keys;
  for (const v of choices[k]) {
    if (v !== undefined) acc[k] = v;
    else delete acc[k];
    yield* combos(rest, acc);
  }
}

test('JSON and Set-Cookie are byte-identical to express-session for every attribute combination', () => {
  let n = 0;
  for (const opts of combos(Object.keys(choices))) {
    const ours = new Cookie({ ...opts });
    const theirs = new EsCookie({ ...opts });
    // originalMaxAge of an `expires` cookie is "ms from now": equal up to the clock tick between the two.
    assert.ok(Math.abs((ours.originalMaxAge ?? 0) - (theirs.originalMaxAge ?? 0)) < 50);
    ours.originalMaxAge = theirs.originalMaxAge;
    assert.equal(JSON.stringify(ours), JSON.stringify(theirs), JSON.stringify(opts));
    for (const value of ['s:abc.def', 'id with spaces/+=;,', 'ünïcode']) {
      assert.equal(ours.serialize('connect.sid', value), theirs.serialize('connect.sid', value));
      assert.equal(ours.serialize('connect.sid', value), cookiePkg.serialize('connect.sid', value, theirs.data));
    }
    n++;
  }
  assert.ok(n > 3000);
});

test('invalid attributes throw the `cookie` package errors', () => {
  const cases = [
    [{ domain: 'bad domain' }, 'option domain is invalid'],
    [{ path: '/a;b' }, 'option path is invalid'],
    [{ expires: new Date(NaN) }, 'option expires is invalid'],
    [{ priority: 'urgent' }, 'option priority is invalid'],
    [{ sameSite: 'sometimes' }, 'option sameSite is invalid'],
  ];
  for (const [opts, message] of cases) {
    assert.throws(() => new Cookie(opts).serialize('n', 'v'), { name: 'TypeError', message });
    assert.throws(() => new EsCookie(opts).serialize('n', 'v'), { name: 'TypeError', message });
  }
  assert.throws(() => new Cookie().serialize('bad name', 'v'), { message: 'argument name is invalid' });
});

test('Session: data and cookie enumerable, id and methods not; stored keys never shadow methods', () => {
  const req = { sessionID: 'abc', sessionStore: null };
  const s = new Session(req, JSON.parse('{"a":1,"save":"nope","id":"forged","__proto__":{"polluted":true},"constructor":"x"}'));
  s.cookie = new Cookie();
  assert.deepEqual(Object.keys(s).sort(), ['a', 'cookie']);
  assert.equal(s.id, 'abc');
  assert.equal(typeof s.save, 'function');
  assert.equal(s.polluted, undefined);
  assert.equal({}.polluted, undefined);
  assert.equal(s.req, req);
  assert.equal(JSON.stringify(s), JSON.stringify({ a: 1, cookie: s.cookie }));
  assert.throws(() => {
    'use strict';
    s.id = 'x';
  });
});
