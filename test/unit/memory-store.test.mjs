import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from 'hotsession';

const rec = (s) => Buffer.from(s);

test('10,000 sessions created then left to expire leave the store empty', async () => {
  const store = new MemoryStore({ sweepInterval: 50 });
  for (let i = 0; i < 10_000; i++) store.set(`id${i}`, rec('x'), 30 + (i % 40));
  assert.equal(store.size, 10_000);
  await sleep(250);
  assert.equal(store.size, 0);
  await store.close();
});

test('expired entries are never returned, even before the sweep', async () => {
  const store = new MemoryStore({ sweepInterval: 60_000 });
  store.set('a', rec('x'), 10);
  await sleep(20);
  assert.equal(store.get('a'), null);
  await store.close();
});

test('max evicts the least recently used', async () => {
  const store = new MemoryStore({ max: 3 });
  store.set('a', rec('a'), 1000);
  store.set('b', rec('b'), 1000);
  store.set('c', rec('c'), 1000);
  store.get('a'); // a is now the most recent
  store.set('d', rec('d'), 1000);
  assert.equal(store.get('b'), null);
  assert.ok(store.get('a'));
  assert.ok(store.get('c'));
  assert.ok(store.get('d'));
  assert.equal(store.size, 3);
  await store.close();
});

test('touch extends, destroy removes, absent ids are null', async () => {
  const store = new MemoryStore();
  store.set('a', rec('a'), 30);
  store.touch('a', 1000);
  store.touch('missing', 1000);
  await sleep(50);
  assert.deepEqual(store.get('a'), rec('a'));
  store.destroy('a');
  store.destroy('a');
  assert.equal(store.get('a'), null);
  await store.close();
});

test('close stops the timer so the process can exit', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['-e', "const { MemoryStore } = require('hotsession'); const s = new MemoryStore({ sweepInterval: 10 }); s.set('a', Buffer.from('x'), 100000); s.close();"], { timeout: 5000 });
  assert.equal(r.status, 0);
});

test('bad options are refused', () => {
  assert.throws(() => new MemoryStore({ max: 0 }), { code: 'HOTSESSION_ERR_OPTIONS' });
  assert.throws(() => new MemoryStore({ sweepInterval: -1 }), { code: 'HOTSESSION_ERR_OPTIONS' });
});

// --- per-key records (#13), flood resistance (#14.2), memory (#14.14) ---

import { createRequire } from 'node:module';
import { createSessionManager } from 'hotsession';

const require = createRequire(import.meta.url);
const { RecordWriter, nameTag, forwardMarker, applyPatch } = require('../../dist/codec/record.js');
const L = require('../../dist/codec/layout.js');
const { codec } = require('../../dist/codec/index.js');
const { pack } = require('msgpackr');

const TAG = nameTag('sid');
const recordOf = (obj) => {
  const w = new RecordWriter().begin(L.KIND_RECORD, 0, 0, 1, TAG);
  for (const [k, v] of Object.entries(obj)) w.set(k, pack(v));
  return w.finish();
};
const patchOf = (ops, clear = false) => {
  const w = new RecordWriter().begin(L.KIND_PATCH, clear ? L.FLAG_CLEAR : 0, 0, 2, TAG);
  for (const [k, v] of ops) (v === undefined ? w.delete(k) : w.set(k, pack(v)));
  return w.finish();
};

test('patch: applied in place, byte for byte as codec.apply; absent, expired and destroyed ids are gone', async () => {
  const store = new MemoryStore();
  const rec = recordOf({ a: 1, b: 'two', c: [3] });
  store.set('s', rec, 1000);
  const p = patchOf([['b', 'deux'], ['c', undefined], ['d', { x: 4 }]]);
  assert.equal(store.patch('s', p, 1000), 'ok');
  assert.deepEqual(store.get('s'), applyPatch(rec, p));
  assert.equal(store.patch('missing', p, 1000), 'gone');
  store.destroy('s');
  assert.equal(store.patch('s', p, 1000), 'gone', 'no resurrection');
  store.set('e', rec, 10);
  await sleep(20);
  assert.equal(store.patch('e', p, 1000), 'gone');
  assert.equal(store.size, 0);
  assert.throws(() => store.patch('x', Buffer.from('nope'), 1000), RangeError);
  await store.close();
});

test('patch: a v1 frame is stale without CLEAR and upgraded with it; a FORWARD marker answers movedTo', () => {
  const store = new MemoryStore();
  store.set('v1', codec.frame(pack({ a: 1 }), 0, 1), 1000);
  assert.equal(store.patch('v1', patchOf([['b', 2]]), 1000), 'stale');
  assert.equal(store.get('v1')[1], 1, 'untouched');
  const clear = patchOf([['a', 1], ['b', 2]], true);
  assert.equal(store.patch('v1', clear, 1000), 'ok');
  assert.deepEqual(store.get('v1'), applyPatch(null, clear));
  store.set('old', recordOf({ a: 1 }), 1000);
  assert.deepEqual(store.forward('old', forwardMarker('new-id', Date.now() + 500, 1, TAG), 500), recordOf({ a: 1 }));
  assert.deepEqual(store.patch('old', patchOf([['b', 2]]), 1000), { movedTo: 'new-id' });
  assert.equal(store.forward('old', forwardMarker('other', Date.now() + 500, 1, TAG), 500), null, 'a marker is no live record');
  assert.equal(store.forward('missing', forwardMarker('other', Date.now() + 500, 1, TAG), 500), null);
  assert.throws(() => store.forward('old', recordOf({}), 500), RangeError);
});

test('a FORWARD marker lives for its grace only', async () => {
  const store = new MemoryStore();
  store.set('old', recordOf({ a: 1 }), 60_000);
  store.forward('old', forwardMarker('new-id', Date.now() + 30, 1, TAG), 30);
  await sleep(50);
  assert.equal(store.get('old'), null);
  assert.equal(store.patch('old', patchOf([['b', 2]]), 1000), 'gone');
});

test('patch results match codec.apply on random records and patches (parity)', () => {
  const store = new MemoryStore();
  const keys = ['a', 'b', 'c', 'd', 'e', 'ü', 'long-key-'.repeat(5)];
  let seed = 7;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  for (let round = 0; round < 300; round++) {
    const obj = {};
    for (const k of keys) if (rnd(2)) obj[k] = rnd(3) ? rnd(1000) : 'v'.repeat(rnd(200));
    const rec = recordOf(obj);
    const ops = [];
    for (const k of keys) if (rnd(3) === 0) ops.push([k, rnd(2) ? undefined : { n: rnd(99) }]);
    const p = patchOf(ops, rnd(10) === 0);
    store.set('p', rec, 1000);
    assert.equal(store.patch('p', p, 1000), 'ok');
    assert.deepEqual(store.get('p'), applyPatch(rec, p), `round ${round}`);
  }
});

test('a buffer get() handed out never changes, whatever happens to the record afterwards', () => {
  const store = new MemoryStore({ max: 50 });
  const views = [];
  for (let i = 0; i < 2000; i++) {
    const id = `id${i % 80}`;
    if (i % 7 === 0) store.destroy(id);
    else if (i % 3 === 0 && store.get(id)) store.patch(id, patchOf([['n', i], ['pad', 'x'.repeat(i % 300)]]), 1000);
    else store.set(id, recordOf({ n: i, pad: 'y'.repeat(i % 500) }), 1000);
    const v = store.get(id);
    if (v) views.push([v, Buffer.from(v)]);
  }
  for (const [v, copy] of views) assert.deepEqual(v, copy);
});

test('a flood of one-shot sessions does not push out a returning user (segmented LRU)', () => {
  const max = 200;
  const store = new MemoryStore({ max });
  const m = createSessionManager('sid', store, { secret: 'flood secret' });
  const user = m.load();
  user.set('user', 'ada');
  const cookie = m.commit(user)[0].split(';')[0];
  assert.equal(m.load(cookie).get('user'), 'ada'); // came back once: promoted
  for (let i = 0; i < 10 * max; i++) {
    const anon = m.load(undefined); // cookieless visitors, each writing a session
    anon.set('visit', i);
    m.commit(anon);
    if (i % 500 === 0) assert.equal(m.load(cookie).get('user'), 'ada');
  }
  assert.equal(m.load(cookie).get('user'), 'ada', 'the active user survived 10x max anonymous writes');
  assert.equal(store.size, max, 'max keeps its meaning');
  const st = store.stats();
  assert.equal(st.entries, max);
  assert.ok(st.evictions >= 9 * max, `evictions ${st.evictions}`);
  assert.ok(st.protected >= 1);
  assert.ok(st.hits >= 5 && st.misses === 0, JSON.stringify(st));
});

test('with plain LRU order among returning users: the least recently used one goes first', () => {
  const store = new MemoryStore({ max: 5 });
  for (const id of ['a', 'b', 'c', 'd', 'e']) store.set(id, rec(id), 1000);
  for (const id of ['a', 'b', 'c', 'd']) store.get(id); // promoted (protected holds 4 of 5)
  store.set('f', rec('f'), 1000); // evicts e (probation)
  assert.equal(store.get('e'), null);
  store.set('g', rec('g'), 1000); // evicts f (probation), never the returning ones
  assert.equal(store.get('f'), null);
  for (const id of ['a', 'b', 'c', 'd', 'g']) assert.ok(store.get(id), id);
});

test('stats() counts entries, bytes, hits, misses, evictions and expiries', async () => {
  const store = new MemoryStore({ max: 2 });
  store.set('a', rec('aaaa'), 1000);
  store.set('b', rec('bb'), 10);
  assert.equal(store.stats().bytes, 6);
  store.get('a');
  store.get('zz');
  await sleep(20);
  store.get('b');
  store.set('c', rec('c'), 1000);
  store.set('d', rec('d'), 1000);
  const st = store.stats();
  // a came back (protected); c was evicted for d, the newer one-shot.
  assert.deepEqual({ ...st, allocated: undefined }, { entries: 2, bytes: 5, allocated: undefined, hits: 1, misses: 2, evictions: 1, expired: 1, probation: 1, protected: 1 });
  assert.equal(store.get('c'), null);
  assert.ok(st.allocated >= st.bytes);
});

test('records given as slices of a large buffer do not keep it alive; memory stays near the records (#14.14)', async () => {
  const v8 = require('node:v8');
  const vm = require('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const store = new MemoryStore({ max: 100_000 });
  let big = Buffer.alloc(4 * 1024 * 1024, 1);
  const ref = new WeakRef(big.buffer);
  const r = recordOf({ user: 'ada', n: 1, roles: ['a', 'b'], pad: 'p'.repeat(150) });
  for (let i = 0; i < 1000; i++) {
    r.copy(big, i * r.length);
    store.set(`slice${i}`, big.subarray(i * r.length, (i + 1) * r.length), 60_000);
  }
  big = null;
  await sleep(0);
  gc();
  assert.equal(ref.deref(), undefined, 'the source buffer was collected');
  // Sessions read often and rarely rewritten (the pinning case): memory near the records.
  const n = 20_000;
  const settle = async () => {
    // Twice, with a turn between: dead ArrayBuffers' memory goes after the second collection.
    gc();
    await sleep(10);
    gc();
    return process.memoryUsage();
  };
  const before = await settle();
  for (let i = 0; i < n; i++) store.set(`s${i}`, recordOf({ user: `u${i}`, n: i, roles: ['a', 'b'], pad: 'p'.repeat(150) }), 60_000);
  for (let pass = 0; pass < 3; pass++) {
    for (let i = 0; i < n; i++) {
      store.get(`s${i}`);
      if (i % 10 === pass) store.patch(`s${i}`, patchOf([['n', i + pass]]), 60_000);
    }
  }
  const after = await settle();
  const held = after.heapUsed + after.external - before.heapUsed - before.external;
  const recordBytes = store.stats().bytes * (n / store.size);
  assert.ok(held < 2.5 * recordBytes, `held ${held} bytes for ${Math.round(recordBytes)} bytes of records`);
  assert.ok(store.stats().allocated < 1.8 * store.stats().bytes + 64 * 1024, JSON.stringify(store.stats()));
});
