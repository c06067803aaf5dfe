import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createSessionManager, MemoryStore, HotsessionError } from 'hotsession';

const require = createRequire(import.meta.url);

const secret = 'unit secret';

async function roundTrip(m, header) {
  return await m.load(header);
}

function cookieOf(headers) {
  const v = headers[0];
  return v.slice(0, v.indexOf(';'));
}

test('an untouched session costs no store write and no Set-Cookie', async () => {
  const store = new MemoryStore();
  let writes = 0;
  const set = store.set.bind(store);
  store.set = (...a) => { writes++; return set(...a); };
  const m = createSessionManager('sid', store, { secret });
  const s = await roundTrip(m);
  assert.equal(s.isNew, true);
  assert.deepEqual(await m.commit(s), []);
  s.set('a', 1);
  const h = await m.commit(s);
  assert.equal(h.length, 1);
  assert.equal(writes, 1);
  // Read-only second request: no write, no cookie.
  const s2 = await m.load(cookieOf(h));
  assert.equal(s2.get('a'), 1);
  assert.deepEqual(await m.commit(s2), []);
  assert.equal(writes, 1);
  await store.close();
});

test('the record is decoded lazily and an unchanged value is never re-encoded', async () => {
  const { Unpackr } = require('msgpackr');
  const { RecordWriter, nameTag, scanRecord, findKey } = require('../../dist/codec/record.js');
  const sig = require('cookie-signature');
  const store = new MemoryStore();
  const m = createSessionManager('sid', store, { secret, rolling: true });
  // "hi" as str8 (0xd9): msgpackr itself would write a fixstr, so a re-encoded value would change bytes.
  const odd = Buffer.from([0xd9, 0x02, 0x68, 0x69]);
  const id = 'L'.repeat(32);
  const w = new RecordWriter().begin(0, 0, 0, Date.now(), nameTag('sid'));
  w.set('odd', odd).set('small', Buffer.from([0x01]));
  store.set(id, w.finish(), 60_000);
  const cookie = 'sid=' + encodeURIComponent('s:' + sig.sign(id, secret));
  let unpacks = 0;
  const unpack = Unpackr.prototype.unpack;
  Unpackr.prototype.unpack = function (...a) { unpacks++; return unpack.apply(this, a); };
  try {
    const s2 = m.load(cookie);
    assert.deepEqual(s2.keys(), ['odd', 'small'], 'keys without decoding');
    // rolling: a touch, not a rewrite, and still no decode
    assert.equal(m.commit(s2).length, 1);
    assert.equal(unpacks, 0);
    const s3 = m.load(cookie);
    assert.equal(s3.get('small'), 1);
    assert.equal(unpacks, 1, 'one value decoded, not the record');
    s3.set('small', 2);
    m.commit(s3);
  } finally {
    Unpackr.prototype.unpack = unpack;
  }
  const rec = store.get(id);
  const v = scanRecord(rec);
  const i = findKey(rec, v, 'odd');
  assert.deepEqual(rec.subarray(v.index[4 * i + 2], v.index[4 * i + 2] + v.index[4 * i + 3]), odd, 'the unchanged value kept its bytes');
  assert.equal(m.load(cookie).get('odd'), 'hi');
  assert.equal(m.load(cookie).get('small'), 2);
  await store.close();
});

test('dirty tracking: changed and deleted keys', () => {
  const m = createSessionManager('sid', new MemoryStore(), { secret });
  const s = m.load();
  s.set('a', 1).set('b', 2).delete('a');
  assert.deepEqual(s.changes(), { changed: ['b'], deleted: ['a'], cleared: false });
  s.clear();
  assert.deepEqual(s.changes(), { changed: [], deleted: ['a', 'b'], cleared: true });
  assert.equal(s.isModified, true);
  m.commit(s);
  assert.equal(s.isModified, false);
  assert.deepEqual(s.changes(), { changed: [], deleted: [], cleared: false });
});

test('a handler mutating data after save does not change the stored copy', async () => {
  const store = new MemoryStore();
  const m = createSessionManager('sid', store, { secret });
  const s = m.load();
  const obj = { n: 1 };
  s.set('obj', obj);
  const h = m.commit(s);
  obj.n = 2;
  const s2 = m.load(cookieOf(h));
  assert.deepEqual(s2.get('obj'), { n: 1 });
});

test('flashes are returned once; missing flashes are a new empty array', () => {
  const m = createSessionManager('sid', new MemoryStore(), { secret });
  const s = m.load();
  s.addFlash('a').addFlash('b', 'errors').addFlash('c');
  assert.deepEqual(s.flashes(), ['a', 'c']);
  assert.deepEqual(s.flashes(), []);
  const empty = s.flashes('none');
  empty.push(1);
  assert.deepEqual(s.flashes('none'), []);
  assert.deepEqual(s.flashes('errors'), ['b']);
});

test('regenerate keeps data under a new id; the old id only forwards, and loads as a fresh session', async () => {
  const store = new MemoryStore();
  const m = createSessionManager('sid', store, { secret });
  const s = m.load();
  s.set('u', 'x');
  const h = m.commit(s);
  const old = s.id;
  await s.regenerate();
  assert.notEqual(s.id, old);
  const marker = store.get(old);
  assert.equal(marker[2], 1, 'the old id holds a FORWARD marker');
  assert.equal(marker.subarray(28).toString('latin1'), s.id);
  const replay = m.load(cookieOf(h));
  assert.equal(replay.isNew, true);
  assert.notEqual(replay.id, s.id);
  assert.equal(replay.get('u'), undefined);
  const h2 = m.commit(s);
  assert.equal(h2.length, 1, 'the new id gets its cookie');
  assert.equal(m.load(cookieOf(h2)).get('u'), 'x');
  assert.equal(s.get('u'), 'x');
});

test('destroy clears the cookie and the record; a later set starts a new session', async () => {
  const store = new MemoryStore();
  const m = createSessionManager('sid', store, { secret });
  const s = m.load();
  s.set('u', 'x');
  m.commit(s);
  const old = s.id;
  await s.destroy();
  assert.equal(store.get(old), null);
  const h = m.commit(s);
  assert.match(h[0], /^sid=; Max-Age=0; Path=\/;/);
  const s2 = m.load();
  s2.set('a', 1);
  await s2.destroy();
  s2.set('b', 2);
  const h2 = m.commit(s2);
  assert.match(h2[0], /^sid=s%3A/);
  assert.equal(s2.get('a'), undefined);
});

test('explicit save() without an adapter leaves its cookie for the next commit', async () => {
  const m = createSessionManager('sid', new MemoryStore(), { secret });
  const s = m.load();
  s.set('a', 1);
  await s.save();
  assert.deepEqual(m.commit(s), []);
  assert.equal(m.takePending(s).length, 1);
});

test('store failures reject load and commit; a rejected write is retried by the next commit', async () => {
  const failing = {
    get: () => Promise.reject(new Error('down')),
    set: () => Promise.reject(new Error('down')),
    patch: () => Promise.reject(new Error('down')),
    forward: () => Promise.reject(new Error('down')),
    touch: () => Promise.resolve(),
    destroy: () => Promise.resolve(),
    close: async () => {},
  };
  const m = createSessionManager('sid', failing, { secret });
  const header = 'sid=' + encodeURIComponent('s:' + require('cookie-signature').sign('A'.repeat(32), secret));
  await assert.rejects(Promise.resolve(m.load(header)), /down/);
  const s = m.load();
  s.set('a', 1);
  await assert.rejects(Promise.resolve(m.commit(s)), /down/);
  assert.equal(s.isModified, true);
  assert.equal(s.isNew, true);
});

test('options are validated once, with coded errors', () => {
  const store = new MemoryStore();
  const bad = [
    [{}, /secret is required/],
    [{ secret: [] }, /secret is required/],
    [{ secret: ['', 'x'] }, /non-empty/],
    [{ secret, cookie: { sameSite: 'none' } }, /requires secure/],
    [{ secret, cookie: { path: '/a;b' } }, /invalid cookie path/],
    [{ secret, cookie: { domain: 'evil.com\r\nX: y' } }, /invalid cookie domain/],
    [{ secret, cookie: { sameSite: 'sometimes' } }, /invalid sameSite/],
    [{ secret, absoluteTimeout: -1 }, /absoluteTimeout/],
  ];
  for (const [opts, re] of bad) {
    assert.throws(() => createSessionManager('sid', store, opts), (e) => e instanceof HotsessionError && re.test(e.message) && e.code.startsWith('HOTSESSION_ERR_'));
  }
  assert.throws(() => createSessionManager('bad name', store, { secret }), { code: 'HOTSESSION_ERR_COOKIE_INVALID' });
  assert.throws(() => createSessionManager('sid\r\n', store, { secret }), { code: 'HOTSESSION_ERR_COOKIE_INVALID' });
  assert.throws(() => createSessionManager('__Host-sid', store, { secret }), /__Host-/);
  assert.throws(() => createSessionManager('__Host-sid', store, { secret, cookie: { secure: true, domain: 'a.com' } }), /__Host-/);
  createSessionManager('__Host-sid', store, { secret, cookie: { secure: true } });
  const m = createSessionManager('sid', store, { secret });
  assert.throws(() => m.load().options({ path: 'x\ny' }), { code: 'HOTSESSION_ERR_COOKIE_INVALID' });
});

test('Set-Cookie attributes follow the options', () => {
  const m = createSessionManager('sid', new MemoryStore(), {
    secret,
    cookie: { maxAge: 3_600_000, secure: true, sameSite: 'strict', domain: 'example.com', path: '/app', partitioned: true, priority: 'high' },
  });
  const s = m.load();
  s.set('a', 1);
  const [h] = m.commit(s);
  assert.match(h, /^sid=s%3A[A-Za-z0-9_-]{32}\.[A-Za-z0-9%]+; Max-Age=3600; Domain=example.com; Path=\/app; Expires=[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT; HttpOnly; Secure; Partitioned; Priority=High; SameSite=Strict$/);
  const m2 = createSessionManager('sid', new MemoryStore(), { secret, cookie: { httpOnly: false, sameSite: false } });
  const s2 = m2.load();
  s2.set('a', 1);
  assert.match(m2.commit(s2)[0], /^sid=[^;]+; Path=\/$/, 'no maxAge: a browser-session cookie');
});

test('an expired frame or an absolute deadline gives a fresh session even if the store still has it', async () => {
  const store = new MemoryStore();
  const m = createSessionManager('sid', store, { secret, absoluteTimeout: 50 });
  const s = m.load();
  s.set('a', 1);
  const h = m.commit(s);
  const id = s.id;
  await new Promise((r) => setTimeout(r, 80));
  // The store's TTL (one day) has not run out; the deadline has.
  store.touch(id, 60_000);
  const s2 = m.load(cookieOf(h));
  assert.equal(s2.isNew, true);
  assert.notEqual(s2.id, id);
});

test('genid: custom ids are used and bounded', () => {
  let n = 0;
  const m = createSessionManager('sid', new MemoryStore(), { secret, genid: () => `custom-${++n}` });
  const s = m.load();
  assert.equal(s.id, 'custom-1');
  s.set('a', 1);
  const s2 = m.load(cookieOf(m.commit(s)));
  assert.equal(s2.id, 'custom-1');
  const bad = createSessionManager('sid', new MemoryStore(), { secret, genid: () => 'has space' });
  assert.throws(() => bad.load(), /genid/);
});

test('a modified existing session without maxAge re-sends no cookie (the browser has it)', () => {
  const m = createSessionManager('sid', new MemoryStore(), { secret });
  const s = m.load();
  s.set('a', 1);
  const h = m.commit(s);
  assert.equal(h.length, 1);
  const s2 = m.load(cookieOf(h));
  s2.set('a', 2);
  assert.deepEqual(m.commit(s2), []);
  assert.equal(m.load(cookieOf(h)).get('a'), 2);
  s2.options({ path: '/' });
  assert.equal(m.commit(s2).length, 1, 'changed attributes are sent');
});
