// What the core writes: v2 records for new sessions, patches for existing
// ones (only the keys a request changed), the upgrade of v1 and legacy
// records, what it does with each patch outcome, name binding, and the
// bounds it enforces before anything is sent.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSessionManager, MemoryStore } from 'hotsession';

const require = createRequire(import.meta.url);
const { scanRecord, keyAt, nameTag, RecordWriter, forwardMarker } = require('../../dist/codec/record.js');
const L = require('../../dist/codec/layout.js');
const { codec } = require('../../dist/codec/index.js');
const { encodeData, decodeValue } = require('../../dist/codec/msgpack.js');
const sig = require('cookie-signature');

const secret = 'records secret';
const cookieOf = (headers) => headers[0].slice(0, headers[0].indexOf(';'));
const cookieFor = (id, name = 'sid') => `${name}=${encodeURIComponent('s:' + sig.sign(id, secret))}`;

/** A buffer's header and entries, decoded (DELETE entries as [key, 'DELETE']). */
function read(buf) {
  const v = scanRecord(buf);
  assert.ok(v, 'a well-formed v2 buffer');
  const entries = [];
  for (let i = 0; i < v.count; i++) {
    const at = v.index[4 * i + 2];
    const len = v.index[4 * i + 3];
    entries.push([keyAt(buf, v, i), len === L.DELETE ? 'DELETE' : decodeValue(buf, at, at + len)]);
  }
  return { kind: v.kind, clear: (v.flags & L.FLAG_CLEAR) !== 0, expiresAt: v.expiresAt, createdAt: v.createdAt, tag: v.nameTag, entries };
}

/** A MemoryStore that records every write it is asked for. */
function spied(store = new MemoryStore()) {
  const log = [];
  for (const k of ['set', 'patch', 'forward', 'touch', 'destroy']) {
    const f = store[k].bind(store);
    store[k] = (...a) => {
      log.push(k === 'touch' ? { op: k, id: a[0], ttl: a[1] } : { op: k, id: a[0], bytes: a[1], ttl: a[2] });
      return f(...a);
    };
  }
  return { store, log };
}

describe('writes', () => {
  test('a new session is one set of a v2 RECORD (name tag, createdAt, hard expiry now + ttl)', () => {
    const { store, log } = spied();
    const m = createSessionManager('sid', store, { secret, cookie: { maxAge: 60_000 } });
    const s = m.load();
    s.set('user', 'ada').set('n', 1);
    const t0 = Date.now();
    m.commit(s);
    assert.deepEqual(log.map((l) => l.op), ['set']);
    const r = read(log[0].bytes);
    assert.equal(r.kind, L.KIND_RECORD);
    assert.equal(r.tag, nameTag('sid'));
    assert.deepEqual(r.entries, [['user', 'ada'], ['n', 1]]);
    assert.ok(r.expiresAt >= t0 + 60_000 && r.expiresAt <= Date.now() + 60_000);
    assert.ok(Math.abs(r.createdAt - t0) < 1000);
    assert.equal(log[0].ttl, 60_000);
  });

  test('an existing session sends a PATCH of the keys it set and deleted, nothing else', () => {
    const { store, log } = spied();
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    s.set('a', 1).set('b', 2).set('c', 3);
    const cookie = cookieOf(m.commit(s));
    log.length = 0;
    const s2 = m.load(cookie);
    s2.set('b', 20).delete('c').set('d', 4);
    assert.deepEqual(m.commit(s2), [], 'the browser has the cookie already');
    assert.deepEqual(log.map((l) => l.op), ['patch']);
    const p = read(log[0].bytes);
    assert.equal(p.kind, L.KIND_PATCH);
    assert.equal(p.clear, false);
    assert.deepEqual(p.entries, [['b', 20], ['c', 'DELETE'], ['d', 4]]);
    const s3 = m.load(cookie);
    assert.deepEqual(s3.keys(), ['a', 'b', 'd'], 'least recently written first');
    assert.equal(s3.get('b'), 20);
  });

  test('clear() sends CLEAR with the keys set after it', () => {
    const { store, log } = spied();
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    s.set('a', 1).set('b', 2);
    const cookie = cookieOf(m.commit(s));
    log.length = 0;
    const s2 = m.load(cookie);
    s2.clear();
    s2.set('c', 3);
    m.commit(s2);
    const p = read(log[0].bytes);
    assert.equal(p.clear, true);
    assert.deepEqual(p.entries, [['c', 3]]);
    assert.deepEqual(m.load(cookie).keys(), ['c']);
  });

  test('hard expiry: min(deadline, now + ttl); under rolling the absolute deadline (0 without one)', () => {
    const { store, log } = spied();
    const m = createSessionManager('sid', store, { secret, absoluteTimeout: 5_000, cookie: { maxAge: 60_000 } });
    const s = m.load();
    s.set('a', 1);
    m.commit(s);
    const r = read(log[0].bytes);
    assert.equal(r.expiresAt, r.createdAt + 5_000);
    const rolling = createSessionManager('sid', store, { secret, rolling: true, cookie: { maxAge: 60_000 } });
    const s2 = rolling.load();
    s2.set('a', 1);
    rolling.commit(s2);
    assert.equal(read(log[1].bytes).expiresAt, 0);
  });

  test('an unchanged session costs no write; a mutated object without set() stores nothing', () => {
    const { store, log } = spied();
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    s.set('cart', { items: [1] });
    const cookie = cookieOf(m.commit(s));
    log.length = 0;
    const s2 = m.load(cookie);
    const cart = s2.get('cart');
    assert.equal(s2.get('cart'), cart, 'the same object on every get');
    cart.items.push(2);
    assert.deepEqual(m.commit(s2), []);
    assert.equal(log.length, 0);
    assert.deepEqual(m.load(cookie).get('cart'), { items: [1] });
    const s3 = m.load(cookie);
    const c3 = s3.get('cart');
    c3.items.push(3);
    s3.set('cart', c3);
    m.commit(s3);
    assert.deepEqual(m.load(cookie).get('cart'), { items: [1, 3] });
  });
});

describe('upgrade of records in older formats', () => {
  test('a v1 frame is read, then rewritten as a v2 RECORD (a CLEAR patch with every key) at the next save', () => {
    const { store, log } = spied();
    const m = createSessionManager('sid', store, { secret });
    const id = 'V'.repeat(32);
    const created = Date.now() - 1000;
    store.set(id, codec.frame(encodeData({ user: 'ada', roles: ['admin'], n: 1 }), 0, created), 60_000);
    log.length = 0;
    const s = m.load(cookieFor(id));
    assert.equal(s.isNew, false);
    assert.deepEqual(s.keys(), ['user', 'roles', 'n']);
    assert.deepEqual(m.commit(s), [], 'a read-only request leaves it as it is');
    assert.equal(log.length, 0);
    const s2 = m.load(cookieFor(id));
    s2.set('n', 2);
    m.commit(s2);
    const p = read(log[0].bytes);
    assert.equal(p.clear, true);
    assert.deepEqual(p.entries, [['user', 'ada'], ['roles', ['admin']], ['n', 2]]);
    const stored = read(store.get(id));
    assert.equal(stored.kind, L.KIND_RECORD);
    assert.equal(stored.tag, nameTag('sid'));
    assert.equal(stored.createdAt, created);
    assert.deepEqual(stored.entries, [['user', 'ada'], ['roles', ['admin']], ['n', 2]]);
    // From then on: plain patches.
    log.length = 0;
    const s3 = m.load(cookieFor(id));
    s3.set('x', 1);
    m.commit(s3);
    assert.equal(read(log[0].bytes).clear, false);
  });

  test('a v1 frame carries no name tag: it loads under any name (as before), then is bound at its rewrite', () => {
    const store = new MemoryStore();
    const id = 'W'.repeat(32);
    store.set(id, codec.frame(encodeData({ a: 1 }), 0, Date.now()), 60_000);
    const admin = createSessionManager('admin', store, { secret });
    const s = admin.load(cookieFor(id, 'admin'));
    assert.equal(s.get('a'), 1);
    s.set('b', 2);
    admin.commit(s);
    const cart = createSessionManager('cart', store, { secret });
    assert.equal(cart.load(cookieFor(id, 'cart')).isNew, true, 'now bound to admin');
  });

  test('a DecodedRecord (a legacy reader) is read, then upgraded by a CLEAR patch; reserved keys are dropped', () => {
    const mem = new MemoryStore();
    // A store that reads JSON bodies as another library wrote them (like RedisStore legacy: 'read').
    const legacy = {
      get(id) {
        const b = mem.get(id);
        if (b === null || b[0] !== 0x7b) return b;
        const { cookie, ...data } = JSON.parse(b.toString());
        return { data, expiresAt: 0, createdAt: 1234 };
      },
      set: (...a) => mem.set(...a), patch: (...a) => mem.patch(...a), forward: (...a) => mem.forward(...a),
      touch: (...a) => mem.touch(...a), destroy: (...a) => mem.destroy(...a), close: () => mem.close(),
    };
    const id = 'J'.repeat(32);
    mem.set(id, Buffer.from('{"cookie":{"path":"/"},"user":"bob","constructor":{"x":1},"cart":[1,2]}'), 60_000);
    const m = createSessionManager('sid', legacy, { secret });
    const s = m.load(cookieFor(id));
    assert.deepEqual(s.keys(), ['user', 'cart']);
    s.set('seen', true);
    m.commit(s);
    const r = read(mem.get(id));
    assert.equal(r.kind, L.KIND_RECORD);
    assert.equal(r.createdAt, 1234);
    assert.deepEqual(r.entries, [['user', 'bob'], ['cart', [1, 2]], ['seen', true]]);
  });
});

describe('patch outcomes', () => {
  test("'gone': a destroyed session stays dead (no resurrection by a request that loaded it before)", async () => {
    const store = new MemoryStore();
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    s.set('user', 'ada');
    const cookie = cookieOf(m.commit(s));
    const inflight = m.load(cookie);
    await m.load(cookie).destroy();
    inflight.set('late', 1);
    m.commit(inflight);
    assert.equal(store.get(inflight.id), null);
    const after = m.load(cookie);
    assert.equal(after.isNew, true);
    assert.deepEqual(after.keys(), []);
  });

  test("'stale': the session is resent whole as a CLEAR patch", () => {
    const { store, log } = spied();
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    s.set('a', 1).set('b', 2);
    const cookie = cookieOf(m.commit(s));
    const s2 = m.load(cookie);
    // Another process (an older version of the app) rewrote the record as a v1 frame meanwhile.
    store.set(s.id, codec.frame(encodeData({ a: 1, b: 2, old: true }), 0, Date.now()), 60_000);
    log.length = 0;
    s2.set('c', 3);
    m.commit(s2);
    assert.deepEqual(log.map((l) => l.op), ['patch', 'patch']);
    assert.equal(read(log[0].bytes).clear, false);
    const whole = read(log[1].bytes);
    assert.equal(whole.clear, true);
    assert.deepEqual(whole.entries, [['a', 1], ['b', 2], ['c', 3]]);
    assert.deepEqual(m.load(cookie).keys(), ['a', 'b', 'c']);
  });

  test('{ movedTo }: the same patch goes to the new id; the old cookie never opens the new session', async () => {
    const { store, log } = spied();
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    s.set('a', 1);
    const cookie = cookieOf(m.commit(s));
    const inflight = m.load(cookie);
    const login = m.load(cookie);
    await login.regenerate();
    const loginCookie = cookieOf(m.commit(login));
    log.length = 0;
    inflight.set('b', 2);
    m.commit(inflight);
    assert.deepEqual(log.map((l) => [l.op, l.id]), [['patch', s.id], ['patch', login.id]]);
    assert.equal(log[1].bytes, log[0].bytes, 'the same patch');
    assert.deepEqual(m.load(loginCookie).keys(), ['a', 'b']);
    assert.equal(m.load(cookie).isNew, true);
  });

  test('forward chains are followed at most 4 hops', () => {
    const { store, log } = spied();
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    s.set('a', 1);
    const cookie = cookieOf(m.commit(s));
    const inflight = m.load(cookie);
    // A loop of markers: s.id -> x1 -> ... -> x5 -> x1
    const ids = ['1', '2', '3', '4', '5'].map((n) => n.repeat(32));
    const mark = (to) => forwardMarker(to, Date.now() + 60_000, 1, nameTag('sid'));
    store.forward(s.id, mark(ids[0]), 60_000);
    ids.forEach((id, i) => {
      store.set(id, new RecordWriter().begin(0, 0, 0, 1, nameTag('sid')).finish(), 60_000);
      store.forward(id, mark(ids[(i + 1) % ids.length]), 60_000);
    });
    log.length = 0;
    inflight.set('b', 2);
    m.commit(inflight);
    assert.equal(log.length, 5, 'the first patch and 4 redirects, then it stops');
  });
});

describe('reading', () => {
  test("a record written for another session name is absent (copying the cart cookie into admin)", () => {
    const store = new MemoryStore();
    const cart = createSessionManager('cart', store, { secret });
    const admin = createSessionManager('admin', store, { secret });
    const s = cart.load();
    s.set('items', [1]);
    const value = cookieOf(cart.commit(s)).slice('cart='.length);
    const forged = admin.load(`admin=${value}`);
    assert.equal(forged.isNew, true);
    assert.notEqual(forged.id, s.id);
    assert.equal(forged.get('items'), undefined);
    assert.equal(cart.load(`cart=${value}`).get('items')[0], 1, 'the cart session still works');
    // And the cookie value is express-session's, byte for byte.
    assert.equal(decodeURIComponent(value), 's:' + sig.sign(s.id, secret));
  });

  test('a value that does not decode reads as absent, is listed, and travels on untouched', () => {
    const store = new MemoryStore();
    const m = createSessionManager('sid', store, { secret });
    const id = 'B'.repeat(32);
    const bad = Buffer.from([0xc1]); // never valid msgpack
    store.set(id, new RecordWriter().begin(0, 0, 0, Date.now(), nameTag('sid')).set('bad', bad).set('ok', Buffer.from([0x05])).finish(), 60_000);
    const s = m.load(cookieFor(id));
    assert.equal(s.get('bad'), undefined);
    assert.equal(s.get('ok'), 5);
    assert.deepEqual(s.keys(), ['bad', 'ok']);
    s.set('ok', 6);
    m.commit(s);
    const v = scanRecord(store.get(id));
    assert.deepEqual(store.get(id).subarray(v.index[2], v.index[2] + v.index[3]), bad);
    s.delete('bad');
    assert.equal(s.isModified, true, 'it can be deleted');
  });

  test('garbage, truncated and forward records give a fresh session', () => {
    const store = new MemoryStore();
    const m = createSessionManager('sid', store, { secret });
    const id = 'G'.repeat(32);
    const good = new RecordWriter().begin(0, 0, 0, Date.now(), nameTag('sid')).set('a', Buffer.from([1])).finish();
    const cases = [
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.from([0])]),
      Buffer.from([0x68, 0x02]),
      forwardMarker('F'.repeat(32), Date.now() + 1000, 1, nameTag('sid')),
      new RecordWriter().begin(0, 0, Date.now() - 1, Date.now() - 10, nameTag('sid')).finish(), // expired
    ];
    for (const bytes of cases) {
      store.set(id, bytes, 60_000);
      const s = m.load(cookieFor(id));
      assert.equal(s.isNew, true);
      assert.notEqual(s.id, id);
    }
  });
});

describe('what a commit refuses before anything is sent', () => {
  for (const key of ['constructor', 'prototype', '__proto__']) {
    test(`a top-level ${key} key: HOTSESSION_ERR_ENCODE naming it; the previous record stays`, () => {
      const { store, log } = spied();
      const m = createSessionManager('sid', store, { secret });
      const s = m.load();
      s.set('a', 1);
      const cookie = cookieOf(m.commit(s));
      const before = Buffer.from(store.get(s.id));
      log.length = 0;
      const s2 = m.load(cookie);
      s2.set(key, { x: 1 });
      assert.throws(() => m.prepare(s2), (e) => e.code === 'HOTSESSION_ERR_ENCODE' && e.message.includes(JSON.stringify(key)));
      assert.equal(log.length, 0);
      assert.deepEqual(store.get(s.id), before);
      assert.equal(s2.isModified, true);
      s2.delete(key);
      m.commit(s2);
      assert.deepEqual(m.load(cookie).keys(), ['a']);
    });
  }

  test('a nested own __proto__ (from JSON.parse) and nesting past 63: coded errors naming the key', () => {
    const { store, log } = spied();
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    s.set('body', JSON.parse('{"a":{"__proto__":{"admin":true}}}'));
    assert.throws(() => m.prepare(s), (e) => e.code === 'HOTSESSION_ERR_ENCODE' && /"body"/.test(e.message));
    let deep = 1;
    for (let i = 0; i < 64; i++) deep = [deep];
    const s2 = m.load();
    s2.set('deep', deep);
    assert.throws(() => m.prepare(s2), (e) => e.code === 'HOTSESSION_ERR_ENCODE' && /"deep"/.test(e.message));
    assert.equal(log.length, 0);
  });

  test('maxRecordSize: HOTSESSION_ERR_RECORD_TOO_LARGE before the store sees anything; the estimate counts replaced values once', () => {
    const { store, log } = spied(new MemoryStore({ maxRecordSize: 600 }));
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    s.set('a', 'x'.repeat(250)).set('b', 'y'.repeat(250));
    const cookie = cookieOf(m.commit(s));
    log.length = 0;
    const s2 = m.load(cookie);
    s2.set('a', 'z'.repeat(260));
    m.commit(s2);
    assert.equal(log.length, 1, 'replacing a value of the same size fits');
    const s3 = m.load(cookie);
    s3.set('c', 'w'.repeat(100));
    assert.throws(() => m.prepare(s3), { code: 'HOTSESSION_ERR_RECORD_TOO_LARGE' });
    assert.equal(log.length, 1);
    assert.equal(s3.isModified, true);
    const fresh = m.load();
    fresh.set('big', 'q'.repeat(700));
    assert.throws(() => m.prepare(fresh), { code: 'HOTSESSION_ERR_RECORD_TOO_LARGE' });
    assert.equal(log.length, 1);
  });

  test('MemoryStore refuses a record past its maxRecordSize itself (default 1 MiB)', () => {
    const store = new MemoryStore();
    assert.equal(store.maxRecordSize, 1_048_576);
    const m = createSessionManager('sid', store, { secret });
    const s = m.load();
    s.set('blob', Buffer.alloc(2 * 1024 * 1024));
    assert.throws(() => m.prepare(s), { code: 'HOTSESSION_ERR_RECORD_TOO_LARGE' });
    assert.equal(store.size, 0);
    assert.throws(() => store.set('x', Buffer.alloc(1_048_577), 1000), { code: 'HOTSESSION_ERR_RECORD_TOO_LARGE' });
    assert.throws(() => new MemoryStore({ maxRecordSize: 10 }), { code: 'HOTSESSION_ERR_OPTIONS' });
  });
});

describe('bounds (#14.7)', () => {
  const store = new MemoryStore();
  for (const maxAge of [8.64e15, 1e300, Infinity, NaN]) {
    test(`maxAge ${maxAge} is refused at construction and in options()`, () => {
      assert.throws(() => createSessionManager('sid', store, { secret, cookie: { maxAge } }), { code: 'HOTSESSION_ERR_COOKIE_INVALID' });
      const s = createSessionManager('sid', store, { secret }).load();
      assert.throws(() => s.options({ maxAge }), { code: 'HOTSESSION_ERR_COOKIE_INVALID' });
      assert.equal(s.isModified, false);
    });
  }
  test('the longest allowed maxAge still serializes a valid Expires and saves', () => {
    const m = createSessionManager('sid', new MemoryStore(), { secret, cookie: { maxAge: 8e15 } });
    const s = m.load();
    s.set('a', 1);
    const [h] = m.commit(s);
    assert.doesNotMatch(h, /Invalid Date/);
    assert.match(h, /; Expires=[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d+ \d\d:\d\d:\d\d GMT/);
  });
  for (const [opt, v] of [['ttl', 1e300], ['ttl', 8.64e15], ['absoluteTimeout', 1e300], ['regenerateGrace', 0], ['regenerateGrace', Infinity]]) {
    test(`${opt}: ${v} is refused at construction`, () => {
      assert.throws(() => createSessionManager('sid', store, { secret, [opt]: v }), (e) => e.code === 'HOTSESSION_ERR_OPTIONS' && e.message.includes(opt));
    });
  }
});

test('#14.9: under rolling, the cookie Max-Age and the store TTL are capped at the time left to absoluteTimeout', async () => {
  const { store, log } = spied();
  const m = createSessionManager('sid', store, { secret, rolling: true, absoluteTimeout: 1000, cookie: { maxAge: 60_000 } });
  const t0 = Date.now();
  const s = m.load();
  s.set('a', 1);
  const [first] = m.commit(s);
  assert.ok(log[0].ttl <= 1000, `first write TTL ${log[0].ttl}`);
  assert.match(first, /Max-Age=1;/);
  await sleep(300);
  log.length = 0;
  const s2 = m.load(cookieOf([first]));
  const [touchCookie] = m.commit(s2);
  assert.equal(log[0].op, 'touch');
  assert.ok(log[0].ttl <= 700 && log[0].ttl > 0, `touch TTL ${log[0].ttl}, not 60000`);
  assert.match(touchCookie, /Max-Age=1;/, touchCookie);
  const expires = Date.parse(/Expires=([^;]+)/.exec(touchCookie)[1]);
  assert.ok(expires <= Date.now() + 1000 && expires - t0 < 2000, `Expires ${new Date(expires).toISOString()} within the deadline`);
  const s3 = m.load(cookieOf([first]));
  s3.set('b', 2);
  const [writeCookie] = m.commit(s3);
  assert.equal(log[1].op, 'patch');
  assert.ok(log[1].ttl <= 700, `patch TTL ${log[1].ttl}`);
  assert.match(writeCookie, /Max-Age=1;/);
});

describe('other readers and writers of the same records', () => {
  test('the cookie store refuses a reserved top-level key at save time, naming it', async () => {
    const { CookieStore } = await import('hotsession/cookie');
    const { randomBytes } = await import('node:crypto');
    const m = createSessionManager('sid', new CookieStore({ keys: [randomBytes(32)] }), { secret });
    const s = m.load();
    s.set('ok', 1).set('constructor', 2);
    assert.throws(() => m.prepare(s), (e) => e.code === 'HOTSESSION_ERR_ENCODE' && e.message.includes('"constructor"'));
    assert.equal(s.isModified, true);
    s.delete('constructor');
    const h = m.prepare(s).headers;
    assert.equal(m.load(cookieOf(h)).get('ok'), 1);
  });

  test("hotsession/express's bridge reads v2 records written by the other adapters; a forwarded id is no session", async () => {
    const { toExpressStore } = await import('hotsession/express');
    const hot = new MemoryStore();
    const m = createSessionManager('sid', hot, { secret, cookie: { maxAge: 60_000 } });
    const s = m.load();
    s.set('user', 'ada').set('roles', ['admin']);
    const cookie = cookieOf(m.commit(s));
    const bridge = toExpressStore(hot, { cookie: { path: '/' } });
    const get = (id) => new Promise((resolve, reject) => bridge.get(id, (err, v) => (err ? reject(err) : resolve(v))));
    const sess = await get(s.id);
    assert.equal(sess.user, 'ada');
    assert.deepEqual(sess.roles, ['admin']);
    assert.equal(typeof sess.cookie, 'object');
    const login = m.load(cookie);
    await login.regenerate();
    assert.equal(await get(s.id), null);
    m.commit(login);
    assert.equal((await get(login.id)).user, 'ada');
    await hot.close();
  });
});
