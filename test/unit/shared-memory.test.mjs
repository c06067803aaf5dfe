// SharedMemoryStore in one thread: the store contract (get/set/patch/forward/
// touch/destroy), expiry, options, bad input, and a model check across many
// laps of its logs. Threads: shared-memory-threads.test.mjs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SharedMemoryStore } from 'hotsession';
import { codec, decode, kindOf, L, marker, patch, rec } from './shared-memory-fixtures.mjs';

let n = 0;
/** A table of its own for each test (names are process-wide). */
function store(options = {}) {
  return new SharedMemoryStore({ name: `unit-${process.pid}-${++n}`, maxBytes: 4 * 2 ** 20, ...options });
}

describe('SharedMemoryStore: the store contract', () => {
  test('set then get returns the same bytes, as a copy', () => {
    const s = store();
    const r = rec({ user: 'ada', n: 1 });
    s.set('id1', r, 60_000);
    const got = s.get('id1');
    assert.deepEqual(Buffer.from(got), r);
    got.fill(0);
    assert.deepEqual(Buffer.from(s.get('id1')), r, 'changing what get returned does not change the table');
    assert.equal(s.get('absent'), null);
  });

  test('set replaces a record; records of any bytes come back unchanged', () => {
    const s = store();
    s.set('id', rec({ a: 1 }), 60_000);
    s.set('id', rec({ b: 2 }), 60_000);
    assert.deepEqual(decode(s.get('id')), { b: 2 });
    for (const len of [0, 1, 15, 16, 17, 255, 4096, 60_000]) {
      const bytes = randomBytes(len);
      s.set(`raw${len}`, bytes, 60_000);
      assert.deepEqual(Buffer.from(s.get(`raw${len}`)), bytes, `${len} bytes`);
    }
  });

  test('patch applies exactly as codec.apply and keeps other keys', () => {
    const s = store();
    const r = rec({ user: 'ada', n: 1, cart: [1, 2] });
    s.set('id', r, 60_000);
    const p = patch({ n: 2, role: 'admin' }, ['cart']);
    assert.equal(s.patch('id', p, 60_000), 'ok');
    assert.deepEqual(Buffer.from(s.get('id')), codec.apply(r, p));
    assert.deepEqual(decode(s.get('id')), { user: 'ada', n: 2, role: 'admin' });
  });

  test('patch of an absent, destroyed or expired session writes nothing: gone', async () => {
    const s = store();
    assert.equal(s.patch('never', patch({ a: 1 }), 60_000), 'gone');
    s.set('d', rec({ a: 1 }), 60_000);
    s.destroy('d');
    assert.equal(s.patch('d', patch({ a: 2 }), 60_000), 'gone');
    assert.equal(s.get('d'), null, 'no resurrection after destroy');
    s.set('e', rec({ a: 1 }), 20);
    await sleep(40);
    assert.equal(s.patch('e', patch({ a: 2 }), 60_000), 'gone');
    assert.equal(s.get('e'), null);
  });

  test('a patch without CLEAR on a v1 frame or a legacy value is stale; with CLEAR it upgrades', () => {
    const s = store();
    const v1 = Buffer.from([0x68, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xc0]);
    s.set('old', v1, 60_000);
    assert.equal(s.patch('old', patch({ a: 1 }), 60_000), 'stale');
    assert.deepEqual(Buffer.from(s.get('old')), v1, 'nothing written');
    assert.equal(s.patch('old', patch({ a: 1 }, [], { clear: true }), 60_000), 'ok');
    assert.deepEqual(decode(s.get('old')), { a: 1 });
  });

  test('a patch sent to a FORWARD marker is redirected, and a malformed patch is refused', () => {
    const s = store();
    s.set('moved', marker('NEWID'), 60_000);
    assert.deepEqual(s.patch('moved', patch({ a: 1 }), 60_000), { movedTo: 'NEWID' });
    assert.equal(kindOf(s.get('moved')), L.KIND_FORWARD);
    s.set('live', rec({ a: 1 }), 60_000);
    assert.throws(() => s.patch('live', Buffer.from('not a patch'), 60_000), TypeError);
    assert.throws(() => s.patch('live', rec({ a: 2 }), 60_000), TypeError, 'a RECORD is not a PATCH');
    assert.deepEqual(decode(s.get('live')), { a: 1 });
  });

  test('forward swaps a live record for a marker and returns the record; nothing else moves', () => {
    const s = store();
    const r = rec({ user: 'ada' });
    s.set('old', r, 60_000);
    const m = marker('NEWID');
    assert.deepEqual(Buffer.from(s.forward('old', m, 10_000)), r);
    assert.deepEqual(Buffer.from(s.get('old')), m);
    assert.equal(s.forward('old', marker('OTHER'), 10_000), null, 'a marker is not a live record');
    assert.deepEqual(Buffer.from(s.get('old')), m);
    assert.equal(s.forward('absent', m, 10_000), null);
    assert.equal(s.get('absent'), null, 'forward of an absent id creates nothing');
  });

  test('touch extends a lifetime without changing the record; destroy is idempotent', async () => {
    const s = store();
    const r = rec({ a: 1 });
    s.set('t', r, 30);
    s.touch('t', 60_000);
    s.touch('missing', 60_000);
    assert.equal(s.get('missing'), null, 'touch creates nothing');
    await sleep(50);
    assert.deepEqual(Buffer.from(s.get('t')), r);
    s.destroy('t');
    s.destroy('t');
    assert.equal(s.get('t'), null);
  });

  test('every method answers synchronously', () => {
    const s = store();
    for (const v of [s.set('x', rec({ a: 1 }), 1000), s.touch('x', 1000), s.destroy('y')]) assert.equal(v, undefined);
    assert.equal(s.patch('x', patch({ a: 2 }), 1000), 'ok');
    assert.ok(s.get('x') instanceof Uint8Array);
    assert.ok(s.forward('x', marker('Z'), 1000) instanceof Uint8Array);
  });
});

describe('SharedMemoryStore: expiry', () => {
  test('expired records are never returned, even before a sweep', async () => {
    const s = store();
    s.set('a', rec({ a: 1 }), 15);
    s.set('b', rec({ b: 1 }), 60_000);
    await sleep(30);
    assert.equal(s.get('a'), null);
    assert.ok(s.get('b'));
  });

  test('a FORWARD marker lives for its grace only, whatever the record\'s TTL was', async () => {
    const s = store();
    s.set('old', rec({ a: 1 }), 60_000);
    assert.ok(s.forward('old', marker('NEWID'), 30));
    assert.equal(kindOf(s.get('old')), L.KIND_FORWARD);
    assert.deepEqual(s.patch('old', patch({ b: 2 }), 1000), { movedTo: 'NEWID' });
    await sleep(50);
    assert.equal(s.get('old'), null);
    assert.equal(s.patch('old', patch({ b: 2 }), 1000), 'gone', 'an expired marker forwards nothing');
  });

  test('10,000 sessions left to expire: sweep frees them all', async () => {
    const s = store({ maxBytes: 8 * 2 ** 20 });
    // TTLs well past the time the loop takes on a loaded machine: a record that
    // expired mid-loop would be reclaimed by a later set, not left for the sweep.
    for (let i = 0; i < 10_000; i++) s.set(`id${i}`, rec({ i }), 600 + (i % 30));
    assert.equal(s.stats().entries, 10_000);
    await sleep(700);
    assert.equal(s.sweep(), 10_000);
    assert.equal(s.stats().entries, 0);
    assert.equal(s.size, 0);
  });

  test('clear drops everything', () => {
    const s = store();
    for (let i = 0; i < 100; i++) s.set(`id${i}`, rec({ i }), 60_000);
    s.clear();
    assert.equal(s.stats().entries, 0);
    assert.equal(s.get('id1'), null);
  });
});

describe('SharedMemoryStore: bounds and eviction', () => {
  test('a record larger than maxRecordSize is refused and the previous one stays', () => {
    const s = store({ maxRecordSize: 1000 });
    assert.equal(s.maxRecordSize, 1000);
    s.set('id', rec({ a: 1 }), 60_000);
    assert.throws(() => s.set('id', Buffer.alloc(1001), 60_000), { code: 'HOTSESSION_ERR_RECORD_TOO_LARGE' });
    assert.throws(() => s.patch('id', patch({ big: 'x'.repeat(1000) }), 60_000), { code: 'HOTSESSION_ERR_RECORD_TOO_LARGE' });
    assert.throws(() => s.forward('id', Buffer.alloc(1001), 60_000), { code: 'HOTSESSION_ERR_RECORD_TOO_LARGE' });
    assert.deepEqual(decode(s.get('id')), { a: 1 });
  });

  test('returning sessions outlive a flood of one-shot sessions', () => {
    const s = store({ maxBytes: 2 ** 20 });
    const users = ['alice', 'bob', 'carol'];
    for (const u of users) s.set(u, rec({ user: u, n: 0 }), 3_600_000);
    let n = 0;
    for (let i = 0; i < 100_000; i++) {
      // Cookieless visitors: each writes a fresh session once and never comes back.
      s.set(`anon${i}`, rec({ visit: i, pad: 'x'.repeat(80) }), 3_600_000);
      if (i % 500 === 0) {
        // The users come back now and then: a load, and sometimes a write.
        for (const u of users) {
          assert.ok(s.get(u), `${u} was evicted after ${i} one-shot sessions`);
          if (i % 2000 !== 0) continue;
          // One user is written whole (set), as a store client without patches does.
          if (u === 'carol') s.set(u, rec({ user: u, n: ++n }), 3_600_000);
          else assert.equal(s.patch(u, patch({ n: ++n }), 3_600_000), 'ok');
        }
      }
    }
    for (const u of users) assert.equal(decode(s.get(u)).user, u);
    let recent = 0;
    let old = 0;
    for (let i = 0; i < 500; i++) {
      if (s.get(`anon${99_999 - i}`)) recent++;
      if (s.get(`anon${i}`)) old++;
    }
    assert.equal(recent, 500, 'the newest one-shot sessions are still there');
    assert.equal(old, 0, 'the oldest one-shot sessions went first');
    const st = s.stats();
    assert.ok(st.evicted > 90_000, `evicted ${st.evicted}`);
    assert.ok(st.entries <= st.capacity && st.bytes <= st.maxBytes, JSON.stringify(st));
  });

  test('a tiny index: the count never passes capacity and a returning session survives full buckets', () => {
    const s = store({ maxBytes: 2 ** 20, maxEntries: 64 });
    const cap = s.stats().capacity;
    assert.ok(cap >= 64 && cap <= 256, `capacity ${cap}`);
    s.set('user', rec({ user: 'ada' }), 3_600_000);
    for (let i = 0; i < 20_000; i++) {
      s.set(`anon${i}`, rec({ i }), 3_600_000);
      if (i % 100 === 0) {
        assert.ok(s.get('user'), `evicted by bucket pressure after ${i} sets`);
        assert.equal(s.patch('user', patch({ i }), 3_600_000), 'ok');
      }
    }
    const st = s.stats();
    assert.ok(st.entries <= cap, `${st.entries} entries > capacity ${cap}`);
    assert.equal(decode(s.get('user')).i, 19_900);
  });

  test('a model check over many laps of the logs: a get returns the latest write or nothing, never another', () => {
    // Small table, random ops on 3,000 ids with records of many sizes: the logs
    // wrap dozens of times; an evicted id reads null, a live one exactly its model.
    const s = store({ maxBytes: 2 ** 20 });
    const model = new Map();
    let seed = 12345;
    const rnd = (k) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % k;
    let hits = 0;
    for (let op = 0; op < 150_000; op++) {
      const id = `id${rnd(3000)}`;
      const r = rnd(100);
      if (r < 40) {
        const v = { id, op, pad: 'p'.repeat(rnd(300)) };
        s.set(id, rec(v), 3_600_000);
        model.set(id, v);
      } else if (r < 70) {
        const got = s.get(id);
        if (got === null) model.delete(id);
        else {
          assert.deepEqual(decode(got), model.get(id), `${id} at op ${op}`);
          hits++;
        }
      } else if (r < 90) {
        const out = s.patch(id, patch({ op }), 3_600_000);
        if (out === 'ok') model.set(id, { ...model.get(id), op });
        else {
          assert.equal(out, 'gone');
          model.delete(id);
        }
      } else if (r < 95) {
        s.touch(id, 3_600_000);
      } else {
        s.destroy(id);
        model.delete(id);
      }
    }
    assert.ok(hits > 10_000, `only ${hits} hits: the test checked too little`);
    assert.ok(s.stats().reclaims > 50, 'the logs wrapped');
  });
});

describe('SharedMemoryStore: options and names', () => {
  test('instances with one name share one table; another name is another table', () => {
    const name = `shared-${process.pid}-names`;
    const a = new SharedMemoryStore({ name, maxBytes: 2 ** 20 });
    const b = new SharedMemoryStore({ name });
    const other = store();
    a.set('id', rec({ from: 'a' }), 60_000);
    assert.deepEqual(decode(b.get('id')), { from: 'a' });
    assert.equal(other.get('id'), null);
    assert.equal(b.maxRecordSize, a.maxRecordSize);
  });

  test('options that differ from the existing table are refused', () => {
    const name = `shared-${process.pid}-mismatch`;
    new SharedMemoryStore({ name, maxBytes: 2 ** 20 });
    assert.throws(() => new SharedMemoryStore({ name, maxBytes: 2 ** 21 }), { code: 'HOTSESSION_ERR_OPTIONS' });
    assert.throws(() => new SharedMemoryStore({ name, maxEntries: 7 }), { code: 'HOTSESSION_ERR_OPTIONS' });
    assert.doesNotThrow(() => new SharedMemoryStore({ name, maxBytes: 2 ** 20 + 63 }), 'rounded down to the same size');
  });

  test('bad options are refused with a coded error', () => {
    for (const o of [
      { maxBytes: 1000 }, { maxBytes: 2 ** 33 }, { maxBytes: 1.5 * 2 ** 20 + 0.5 }, { maxEntries: 0 }, { maxEntries: 2 ** 31 },
      { maxRecordSize: 0 }, { maxRecordSize: 2 ** 27 }, { maxBytes: 2 ** 20, maxRecordSize: 200_000 }, { name: '' }, { name: 7 },
    ]) {
      assert.throws(() => new SharedMemoryStore({ name: `bad-${++n}`, ...o }), { code: 'HOTSESSION_ERR_OPTIONS' }, JSON.stringify(o));
    }
  });

  test('close stops handing the table out: the next instance of the name starts empty', async () => {
    const name = `shared-${process.pid}-close`;
    const a = new SharedMemoryStore({ name, maxBytes: 2 ** 20 });
    a.set('id', rec({ a: 1 }), 60_000);
    await a.close();
    assert.ok(a.get('id'), 'the closed instance still works');
    const b = new SharedMemoryStore({ name, maxBytes: 2 ** 20 });
    assert.equal(b.get('id'), null);
  });

  test('bad ids: get and destroy answer nothing, writes throw', () => {
    const s = store();
    for (const id of ['', 'x'.repeat(256), 'é'.repeat(128), 42, null, undefined, {}]) {
      assert.equal(s.get(id), null);
      assert.doesNotThrow(() => s.destroy(id));
      assert.equal(s.patch(id, patch({ a: 1 }), 1000), 'gone');
      assert.throws(() => s.set(id, rec({ a: 1 }), 1000), TypeError);
    }
    assert.throws(() => s.set('ok', 'not bytes', 1000), TypeError);
    s.set('é€😀', rec({ unicode: true }), 60_000);
    assert.deepEqual(decode(s.get('é€😀')), { unicode: true });
    assert.equal(s.get('e€😀'), null);
  });

  test('stats have the documented shape and bounds', () => {
    const s = store();
    s.set('a', rec({ a: 1 }), 60_000);
    s.get('a');
    s.get('b');
    const st = s.stats();
    for (const k of ['entries', 'capacity', 'bytes', 'maxBytes', 'hits', 'misses', 'writes', 'evicted', 'expired', 'promoted', 'conflicts', 'reclaims']) {
      assert.equal(typeof st[k], 'number', k);
    }
    assert.equal(st.entries, 1);
    assert.ok(st.hits >= 1 && st.misses >= 1 && st.writes >= 1);
    assert.ok(st.bytes <= st.maxBytes && st.maxBytes === 4 * 2 ** 20);
  });
});
