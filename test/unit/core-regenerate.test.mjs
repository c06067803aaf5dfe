// regenerate() under concurrency, step by step on a MemoryStore: the new id
// is written first, the old one forwards for `regenerateGrace`, what other
// requests changed meanwhile reaches the new session (per key, later write
// wins), and nothing opens the new session with the old cookie.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSessionManager, MemoryStore } from 'hotsession';

const require = createRequire(import.meta.url);
const { codec } = require('../../dist/codec/index.js');
const { encodeData } = require('../../dist/codec/msgpack.js');
const sig = require('cookie-signature');

const secret = 'regenerate secret';
const cookieOf = (headers) => headers[0].slice(0, headers[0].indexOf(';'));
const cookieFor = (id) => `sid=${encodeURIComponent('s:' + sig.sign(id, secret))}`;

function setup(extra = {}) {
  const store = new MemoryStore();
  const m = createSessionManager('sid', store, { secret, ...extra });
  const s = m.load();
  s.set('a', 1).set('b', 2).set('c', 3);
  const cookie = cookieOf(m.commit(s));
  return { store, m, cookie, id: s.id };
}

test('what other requests changed after this one loaded reaches the new session; its own keys win', async () => {
  const { m, cookie } = setup();
  const login = m.load(cookie);
  login.set('b', 'mine');
  // Other requests, after the login loaded: b and c changed, a deleted, d added.
  const other = m.load(cookie);
  other.set('b', 'theirs').set('c', 30).set('d', 4).delete('a');
  m.commit(other);
  await login.regenerate();
  assert.equal(login.get('c'), 30, 'the session sees what changed meanwhile');
  assert.equal(login.get('b'), 'mine');
  const h = m.commit(login);
  const fresh = m.load(cookieOf(h));
  assert.deepEqual(Object.fromEntries(fresh.keys().map((k) => [k, fresh.get(k)])), { b: 'mine', c: 30, d: 4 });
});

test('after clear(), nothing older survives the login', async () => {
  const { m, cookie } = setup();
  const login = m.load(cookie);
  login.clear();
  login.set('user', 'ada');
  const other = m.load(cookie);
  other.set('d', 4);
  m.commit(other);
  await login.regenerate();
  const fresh = m.load(cookieOf(m.commit(login)));
  assert.deepEqual(fresh.keys(), ['user']);
});

test('a session loaded from a v1 frame regenerates too; changes to it meanwhile are compared by value', async () => {
  const store = new MemoryStore();
  const m = createSessionManager('sid', store, { secret });
  const id = 'O'.repeat(32);
  store.set(id, codec.frame(encodeData({ a: 1, b: 2 }), 0, Date.now()), 60_000);
  const login = m.load(cookieFor(id));
  const other = m.load(cookieFor(id));
  other.set('b', 20);
  m.commit(other); // upgrades the record to v2 meanwhile
  await login.regenerate();
  const fresh = m.load(cookieOf(m.commit(login)));
  assert.deepEqual({ a: fresh.get('a'), b: fresh.get('b') }, { a: 1, b: 20 });
  assert.equal(m.load(cookieFor(id)).isNew, true);
});

test('regenerateGrace: the old id forwards for that long, then writes to it are gone', async () => {
  const { store, m, cookie, id } = setup({ regenerateGrace: 40 });
  const slow = m.load(cookie);
  const login = m.load(cookie);
  await login.regenerate();
  const loginCookie = cookieOf(m.commit(login));
  assert.ok(store.get(id), 'the marker is there during the grace window');
  await sleep(60);
  assert.equal(store.get(id), null, 'and gone after it');
  slow.set('late', 1);
  m.commit(slow);
  assert.equal(m.load(loginCookie).get('late'), undefined, 'a request slower than the grace window loses its write');
});

test('a server store without patch() or forward() is refused when the manager is built', () => {
  const mem = new MemoryStore();
  const wholeOnly = {
    get: (id) => mem.get(id), set: (id, r, t) => mem.set(id, r, t),
    touch: (id, t) => mem.touch(id, t), destroy: (id) => mem.destroy(id), close: () => mem.close(),
  };
  assert.throws(() => createSessionManager('sid', wholeOnly, { secret }), { code: 'HOTSESSION_ERR_OPTIONS', message: /patch\(\) and forward\(\)/ });
  assert.throws(() => createSessionManager('sid', { ...wholeOnly, patch: (id, p, t) => mem.patch(id, p, t) }, { secret }), { code: 'HOTSESSION_ERR_OPTIONS' });
});

test('the new id is written before the old one forwards (a redirected write always finds it)', async () => {
  const { store, m, cookie, id } = setup();
  const order = [];
  const set = store.set.bind(store);
  const forward = store.forward.bind(store);
  store.set = (...a) => { order.push(['set', a[0]]); return set(...a); };
  store.forward = (...a) => { order.push(['forward', a[0]]); return forward(...a); };
  const login = m.load(cookie);
  await login.regenerate();
  assert.deepEqual(order, [['set', login.id], ['forward', id]]);
});
