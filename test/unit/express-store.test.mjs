// The express-session store API of hotsession/express: the Store base class,
// session.MemoryStore, and toExpressStore() over a hotsession store (record
// format, garbage rejection, expiry, JSON vs msgpack).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { Store, MemoryStore, Session, Cookie, toExpressStore, isHotsessionStore } from 'hotsession/express';
import { MemoryStore as HotMemoryStore } from 'hotsession';

const require = createRequire(import.meta.url);
const call = (store, method, ...args) => promisify(store[method]).call(store, ...args);

/** A stored-session object like express-session hands to stores. */
function stored(data = {}, maxAge = 60_000) {
  const s = new Session({ sessionID: 'x' }, data);
  s.cookie = new Cookie({ maxAge });
  return s;
}

describe('Store base class', () => {
  test('regenerate destroys then generates; load gives a Session or nothing', async () => {
    const store = new MemoryStore();
    const order = [];
    store.generate = (req) => {
      order.push('generate');
      req.session = 'new';
    };
    const destroy = store.destroy.bind(store);
    store.destroy = (sid, cb) => {
      order.push('destroy ' + sid);
      destroy(sid, cb);
    };
    const req = { sessionID: 'old' };
    await promisify(store.regenerate).call(store, req);
    assert.deepEqual(order, ['destroy old', 'generate']);
    assert.equal(req.session, 'new');

    await call(store, 'set', 'sid1', stored({ user: 'ann' }));
    const loaded = await call(store, 'load', 'sid1');
    assert.ok(loaded instanceof Session);
    assert.equal(loaded.id, 'sid1');
    assert.equal(loaded.user, 'ann');
    assert.ok(loaded.cookie instanceof Cookie);
    assert.ok(loaded.cookie.expires instanceof Date);
    assert.equal(await call(store, 'load', 'nope'), undefined);
    store.close();
  });

  test('it is an EventEmitter usable with `extends` and with Store.call + inherits', () => {
    class A extends Store {}
    const a = new A();
    let seen = 0;
    a.on('connect', () => seen++);
    a.emit('connect');
    assert.equal(seen, 1);
    assert.equal(typeof Store.prototype.createSession, 'function');
    assert.deepEqual(Object.keys(Store.prototype), [], 'methods are not enumerable');
  });
});

describe('session.MemoryStore', () => {
  test('get/set/touch/destroy/all/length/clear', async () => {
    const store = new MemoryStore();
    await call(store, 'set', 'a', stored({ n: 1, when: new Date(0) }));
    await call(store, 'set', 'b', stored({ n: 2 }));
    const a = await call(store, 'get', 'a');
    assert.equal(a.n, 1);
    assert.equal(a.when, '1970-01-01T00:00:00.000Z', 'JSON semantics');
    assert.equal(typeof a.cookie.expires, 'string');
    assert.equal(await call(store, 'length'), 2);
    assert.deepEqual(Object.keys(await call(store, 'all')).sort(), ['a', 'b']);
    const fresh = stored({ n: 99 }, 120_000);
    await call(store, 'touch', 'a', fresh);
    const touched = await call(store, 'get', 'a');
    assert.equal(touched.n, 1, 'touch keeps the data');
    // Cookie computes originalMaxAge from expires - now, as express-session's does: a
    // millisecond can tick inside the constructor (this assertion failed under load).
    assert.ok(Math.abs(touched.cookie.originalMaxAge - 120_000) <= 50, `touch takes the cookie (${touched.cookie.originalMaxAge})`);
    await call(store, 'destroy', 'a');
    assert.equal(await call(store, 'get', 'a'), undefined);
    await call(store, 'clear');
    assert.equal(await call(store, 'length'), 0);
    store.close();
  });

  test('expired sessions are never returned; max bounds the store', async () => {
    const store = new MemoryStore({ max: 2 });
    await call(store, 'set', 'old', stored({}, -1));
    assert.equal(await call(store, 'get', 'old'), undefined);
    for (const id of ['a', 'b', 'c']) await call(store, 'set', id, stored({}));
    assert.equal(await call(store, 'get', 'a'), undefined, 'oldest dropped');
    assert.ok(await call(store, 'get', 'c'));
    assert.throws(() => new MemoryStore({ max: 0 }), { code: 'HOTSESSION_ERR_OPTIONS' });
    store.close();
  });

  test('it is the core MemoryStore underneath: per-key records, patches keep what other saves wrote', async () => {
    const store = new MemoryStore();
    assert.ok(store.store instanceof HotMemoryStore);
    await call(store, 'set', 'a', stored({ x: 1, y: 1 }));
    const one = await call(store, 'get', 'a');
    const two = await call(store, 'get', 'a');
    one.x = 2;
    two.y = 2;
    await call(store, 'set', 'a', one);
    await call(store, 'set', 'a', two);
    const after = await call(store, 'get', 'a');
    assert.deepEqual([after.x, after.y], [2, 2], 'each save sent only its own key');
    store.close();
  });

  test('touch keeps the record header (creation time, name) and ends a session whose cookie expired', async () => {
    const store = new MemoryStore();
    await call(store, 'set', 'a', stored({ n: 1 }));
    const { codec } = require('../../dist/codec/index.js');
    const before = codec.scan(store.store.peek('a'));
    await new Promise((r) => setTimeout(r, 5));
    await call(store, 'touch', 'a', stored({ n: 1 }, 120_000));
    const after = codec.scan(store.store.peek('a'));
    assert.equal(after.createdAt, before.createdAt);
    assert.equal(after.nameTag, before.nameTag);
    assert.equal((await call(store, 'get', 'a')).n, 1);
    await call(store, 'touch', 'a', stored({ n: 1 }, -1000));
    assert.equal(await call(store, 'get', 'a'), undefined, 'an expired cookie ends the session');
    // A touch never creates a session.
    await call(store, 'touch', 'nobody', stored({}, 60_000));
    assert.equal(await call(store, 'get', 'nobody'), undefined);
    store.close();
  });

  test('all() and length() read as onlookers: eviction order and hit counters stay as they were', async () => {
    const store = new MemoryStore({ max: 4 });
    for (const id of ['r1', 'v1', 'v2', 'v3']) await call(store, 'set', id, stored({}));
    await call(store, 'get', 'r1');
    const stats = store.store.stats();
    assert.equal(await call(store, 'length'), 4);
    assert.equal(Object.keys(await call(store, 'all')).length, 4);
    const now = store.store.stats();
    assert.deepEqual([now.hits, now.probation, now.protected], [stats.hits, stats.probation, stats.protected]);
    // The returning session outlives four one-shot visitors.
    for (const id of ['w1', 'w2', 'w3', 'w4']) await call(store, 'set', id, stored({}));
    assert.ok(await call(store, 'get', 'r1'));
    store.close();
  });

  test('an own __proto__ key is refused with a coded error, as every store refuses it', async () => {
    const store = new MemoryStore();
    const s = stored({ n: 1 });
    Object.defineProperty(s, '__proto__', { value: { admin: true }, enumerable: true, writable: true, configurable: true });
    await assert.rejects(call(store, 'set', 'a', s), { code: 'HOTSESSION_ERR_ENCODE' });
    assert.equal(await call(store, 'get', 'a'), undefined);
    store.close();
  });
});

describe('toExpressStore()', () => {
  test('recognises hotsession stores by shape', () => {
    const hot = new HotMemoryStore();
    assert.equal(isHotsessionStore(hot), true);
    assert.equal(isHotsessionStore(new MemoryStore()), false);
    assert.equal(isHotsessionStore({ kind: 'cookie', get() {}, set() {}, touch() {}, destroy() {}, close() {} }), false);
    assert.throws(() => toExpressStore(new MemoryStore()), { code: 'HOTSESSION_ERR_OPTIONS' });
    assert.throws(() => toExpressStore(hot, { serializer: 'xml' }), { code: 'HOTSESSION_ERR_OPTIONS' });
    hot.close();
  });

  test('writes hotsession frames with the cookie lifetime as TTL; JSON semantics by default', async () => {
    const hot = new HotMemoryStore();
    const store = toExpressStore(hot);
    await call(store, 'set', 's1', stored({ user: 'ann', when: new Date(0), gone: undefined }));
    const raw = hot.get('s1');
    assert.equal(raw[0], 0x68, 'frame magic');
    const back = await call(store, 'get', 's1');
    assert.equal(back.user, 'ann');
    assert.equal(back.when, '1970-01-01T00:00:00.000Z');
    assert.equal('gone' in back, false);
    assert.equal(back.cookie.originalMaxAge, 60_000);
    hot.close();
  });

  test("msgpack keeps Dates and undefined, and either store reads the other's records", async () => {
    const hot = new HotMemoryStore();
    const packed = toExpressStore(hot, { serializer: 'msgpack' });
    const json = toExpressStore(hot);
    await call(packed, 'set', 'm', stored({ when: new Date(5), big: 10n }));
    const viaMsgpack = await call(packed, 'get', 'm');
    assert.ok(viaMsgpack.when instanceof Date);
    assert.equal(viaMsgpack.big, 10n);
    assert.ok((await call(json, 'get', 'm')).when instanceof Date, 'a JSON store reads msgpack records');
    await call(json, 'set', 'j', stored({ when: new Date(5) }));
    assert.equal((await call(packed, 'get', 'j')).when, '1970-01-01T00:00:00.005Z');
    hot.close();
  });

  test('garbage, expired and foreign records read as no session', async () => {
    const hot = new HotMemoryStore();
    const store = toExpressStore(hot);
    const { codec } = await import('../../dist/codec/index.js');
    const cases = {
      random: Buffer.from('\x01\x02garbage'),
      empty: Buffer.alloc(0),
      truncated: codec.frame(Buffer.from('{"cookie":{}}'), 0, 1).subarray(0, 30),
      'bad json': codec.frame(Buffer.from('{"cookie":'), 0, 1),
      'json array': codec.frame(Buffer.from('[1,2]'), 0, 1),
      'bad cookie': codec.frame(Buffer.from('{"cookie":"x"}'), 0, 1),
      'expired frame': codec.frame(Buffer.from('{"cookie":{}}'), 1, 1),
      'express JSON, expired': Buffer.from(JSON.stringify({ cookie: { expires: new Date(1000).toISOString() }, a: 1 })),
      'express JSON, no cookie': Buffer.from('{"a":1}'),
    };
    for (const [label, bytes] of Object.entries(cases)) {
      hot.set('g', bytes, 60_000);
      assert.equal(await call(store, 'get', 'g'), null, label);
    }
    // express-session's own JSON records (connect-redis, say) are read as they are.
    hot.set('g', Buffer.from(JSON.stringify(stored({ user: 'legacy' }))), 60_000);
    assert.equal((await call(store, 'get', 'g')).user, 'legacy');
    hot.close();
  });

  test('records without a cookie (hotsession adapters, legacy reads) get one from the defaults', async () => {
    const hot = new HotMemoryStore();
    const store = toExpressStore(hot, { cookie: { maxAge: 1000, path: '/app' } });
    const { codec } = await import('../../dist/codec/index.js');
    const at = Date.now() + 30_000;
    hot.set('c', codec.frame(Buffer.from('{"user":"core"}'), at, 7), 60_000);
    const s = await call(store, 'get', 'c');
    assert.equal(s.user, 'core');
    assert.equal(s.cookie.path, '/app');
    assert.equal(s.cookie.originalMaxAge, 1000);
    assert.equal(new Date(s.cookie.expires).getTime(), at);
    hot.close();
  });

  test('an already expired cookie destroys instead of writing; touch only extends the TTL', async () => {
    const hot = new HotMemoryStore();
    const store = toExpressStore(hot);
    await call(store, 'set', 't', stored({ n: 1 }));
    const before = hot.get('t');
    await call(store, 'touch', 't', stored({ n: 2 }, 120_000));
    assert.deepEqual(hot.get('t'), before, 'the record is not rewritten');
    await call(store, 'set', 't', stored({ n: 3 }, -5));
    assert.equal(hot.get('t'), null);
    hot.close();
  });

  test('store failures reach the callback; a promise store calls back outside its promise', async () => {
    const failing = {
      get: (id) => Promise.reject(new Error('down ' + id)),
      set: () => { throw new Error('sync failure'); },
      touch: async () => {},
      destroy: async () => {},
      close: async () => {},
    };
    const store = toExpressStore(failing);
    await assert.rejects(call(store, 'get', 'x'), /down x/);
    await assert.rejects(call(store, 'set', 'x', stored()), /sync failure/);
  });
});
