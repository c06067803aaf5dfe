// The store-level contract of patch and forward (src/stores/types.ts), run
// against a real backend through several store instances at once (each
// with its own client and connections, as separate processes would be):
// concurrent patches of one session keep every key, a destroy or a forward
// racing them wins cleanly, outcomes are the contract's, and the record a
// store returns after any sequence of patches is what codec.apply gives
// (as key -> value bytes: a store may order entries differently).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { codec } = require('../../dist/codec/index.js');
const R = require('../../dist/codec/record.js');
const L = require('../../dist/codec/layout.js');
const { encodeValue, encodeData, decodeValue } = require('../../dist/codec/msgpack.js');

export const TAG = R.nameTag('sid');
const w = new R.RecordWriter();

/** A fresh id as the core makes them. */
export const newId = () => randomBytes(24).toString('base64url');

/** A v2 RECORD of `data`. */
export function record(data, { expiresAt = 0, createdAt = 1_000, tag = TAG } = {}) {
  w.begin(L.KIND_RECORD, 0, expiresAt, createdAt, tag);
  for (const [k, v] of Object.entries(data)) w.set(k, encodeValue(k, v));
  return w.finish();
}

/** A PATCH: `set` = { key: value }, `del` = [keys], `clear`. */
export function patch({ set = {}, del = [], clear = false, expiresAt = 0, createdAt = 1_000, tag = TAG } = {}) {
  w.begin(L.KIND_PATCH, clear ? L.FLAG_CLEAR : 0, expiresAt, createdAt, tag);
  for (const [k, v] of Object.entries(set)) w.set(k, encodeValue(k, v));
  for (const k of del) w.delete(k);
  return w.finish();
}

/** A FORWARD marker to `target`. */
export const marker = (target, expiresAt = 0) => R.forwardMarker(target, expiresAt, 1_000, TAG);

/** A v1 frame of `data` (what the core wrote before v2). */
export const v1Frame = (data, expiresAt = 0) => codec.frame(encodeData(data), expiresAt, 1_000);

/** A v2 record as { header, entries: Map(key -> hex of the value bytes) }; throws on anything else. */
export function asMap(rec) {
  assert.ok(rec instanceof Uint8Array, 'a record as bytes');
  const v = codec.scan(rec);
  assert.ok(v !== null && v.kind === L.KIND_RECORD, 'a well-formed v2 RECORD');
  const entries = new Map();
  for (let i = 0; i < v.count; i++) {
    const at = v.index[4 * i + 2];
    entries.set(R.keyAt(rec, v, i), Buffer.from(rec.subarray(at, at + v.index[4 * i + 3])).toString('hex'));
  }
  return { expiresAt: v.expiresAt, createdAt: v.createdAt, nameTag: v.nameTag, entries };
}

/** The decoded value of `key` in a v2 record (undefined when absent). */
export function valueOf(rec, key) {
  const v = codec.scan(rec);
  const i = R.findKey(rec, v, key);
  if (i < 0) return undefined;
  const at = v.index[4 * i + 2];
  return decodeValue(rec, at, at + v.index[4 * i + 3]);
}

/** The target of a FORWARD marker, or null. */
export function forwardTarget(rec) {
  const v = rec instanceof Uint8Array ? codec.scan(rec) : null;
  return v !== null && v.kind === L.KIND_FORWARD ? v.target : null;
}

const TTL = 60_000;

/**
 * @param {string} label
 * @param {object} o
 * @param {() => object} o.makeStore     a new store instance with its own client, on the suite's shared namespace
 * @param {() => Promise<void>} [o.cleanup]   after the suite (stores are closed by it)
 * @param {boolean} [o.crossInstance]     run the several-instances races (false where the server cannot make them atomic)
 * @param {object} [o.skip]              { reason }
 */
export function patchContract(label, o) {
  const crossInstance = o.crossInstance ?? true;
  describe(`patch contract: ${label}`, { skip: o.skip?.reason ?? false }, () => {
    const stores = [];
    const make = () => {
      const s = o.makeStore();
      stores.push(s);
      return s;
    };
    let a;
    let pool;
    before(() => {
      a = make();
      pool = crossInstance ? [a, make(), make(), make()] : [a];
    });
    after(async () => {
      for (const s of stores) await s.close();
      await o.cleanup?.();
    });

    test('a patch sets and deletes keys of the live record; the header is the patch\'s', async () => {
      const id = newId();
      await a.set(id, record({ user: 'ada', n: 1, gone: true }), TTL);
      assert.equal(await a.patch(id, patch({ set: { n: 2, theme: 'dark' }, del: ['gone'], expiresAt: 9e12, createdAt: 1_000 }), TTL), 'ok');
      const got = await a.get(id);
      assert.deepEqual(asMap(got), asMap(codec.apply(record({ user: 'ada', n: 1, gone: true }), patch({ set: { n: 2, theme: 'dark' }, del: ['gone'], expiresAt: 9e12 }))));
      assert.equal(valueOf(got, 'n'), 2);
      assert.equal(asMap(got).expiresAt, 9e12);
      await a.destroy(id);
    });

    test("outcomes: 'gone' with no record or after destroy, never a write", async () => {
      const id = newId();
      assert.equal(await a.patch(id, patch({ set: { x: 1 } }), TTL), 'gone');
      assert.equal(await a.get(id), null, 'a patch never creates a record');
      assert.equal(await a.patch(id, patch({ set: { x: 1 }, clear: true }), TTL), 'gone', 'not with CLEAR either');
      assert.equal(await a.get(id), null);
      await a.set(id, record({ x: 0 }), TTL);
      await a.destroy(id);
      assert.equal(await a.patch(id, patch({ set: { x: 1 } }), TTL), 'gone');
      assert.equal(await a.get(id), null);
    });

    test('a record past its own expiry is gone to a patch and a forward', async () => {
      const id = newId();
      await a.set(id, record({ x: 0 }, { expiresAt: Date.now() + 150 }), TTL);
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(await a.patch(id, patch({ set: { x: 1 }, expiresAt: Date.now() + TTL }), TTL), 'gone');
      assert.equal(await a.forward(id, marker(newId()), 5_000), null);
      const left = await a.get(id);
      // The store may still hand the expired bytes back (the core checks the header); never a patched record.
      if (left !== null) assert.equal(valueOf(left, 'x'), 0);
      await a.destroy(id);
    });

    test("a v1 frame: 'stale' without CLEAR (untouched), rewritten as v2 by a CLEAR patch", async () => {
      const id = newId();
      const frame = v1Frame({ user: 'ada' });
      await a.set(id, frame, TTL);
      assert.equal(await a.patch(id, patch({ set: { n: 1 } }), TTL), 'stale');
      assert.deepEqual(Buffer.from(await a.get(id)), frame, 'the v1 frame is left as it was');
      assert.equal(await a.patch(id, patch({ set: { user: 'ada', n: 1 }, clear: true }), TTL), 'ok');
      const now = asMap(await a.get(id));
      assert.deepEqual([...now.entries.keys()].sort(), ['n', 'user']);
      assert.equal(await a.patch(id, patch({ set: { m: 2 } }), TTL), 'ok', 'a v2 record from then on');
      await a.destroy(id);
    });

    test('forward swaps a live record for the marker and returns it; patches then answer movedTo', async () => {
      const id = newId();
      const to = newId();
      const rec = record({ user: 'ada' });
      await a.set(id, rec, TTL);
      const before = await a.forward(id, marker(to), 5_000);
      assert.deepEqual(asMap(before), asMap(rec));
      assert.equal(forwardTarget(await a.get(id)), to, 'the id reads as the marker');
      assert.deepEqual(await a.patch(id, patch({ set: { x: 1 } }), TTL), { movedTo: to });
      assert.deepEqual(await a.patch(id, patch({ set: { x: 1 }, clear: true }), TTL), { movedTo: to }, 'a marker is never patched, CLEAR or not');
      assert.equal(forwardTarget(await a.get(id)), to);
      assert.equal(await a.forward(id, marker(newId()), 5_000), null, 'a marker is not forwarded again');
      assert.equal(await a.forward(newId(), marker(to), 5_000), null, 'nothing to forward');
      await a.destroy(id);
    });

    test('a v1 frame is forwarded too (returned as it was)', async () => {
      const id = newId();
      const frame = v1Frame({ user: 'ada' });
      await a.set(id, frame, TTL);
      assert.deepEqual(Buffer.from(await a.forward(id, marker(newId()), 5_000)), frame);
      await a.destroy(id);
    });

    test('the marker lives for the grace period only', async () => {
      const id = newId();
      await a.set(id, record({ x: 1 }), TTL);
      await a.forward(id, marker(newId()), 1_000);
      assert.notEqual(await a.get(id), null);
      await new Promise((r) => setTimeout(r, 2_100));
      assert.equal(await a.get(id), null);
    });

    test('randomized: the record after a sequence of patches equals codec.apply, key by key', async () => {
      let seed = 0x9e3779b9;
      const rand = (n) => {
        seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
        return seed % n;
      };
      const keys = ['a', 'b', 'user', 'cart', 'ü€', 'dot.ted', '$dollar', '%25', '', 'x y', '1', '42', 'n\0ul'];
      const value = () => [rand(1000), 'v'.repeat(rand(40)), { deep: [rand(9), { k: rand(3) }] }, null, true][rand(5)];
      for (let round = 0; round < 4; round++) {
        const id = newId();
        let expect = record({ a: 1, b: 'two' });
        await a.set(id, expect, TTL);
        for (let step = 0; step < 25; step++) {
          const set = {};
          const del = [];
          for (let k = rand(4); k >= 0; k--) {
            const key = keys[rand(keys.length)];
            if (key in set || del.includes(key)) continue;
            if (rand(4) === 0) del.push(key);
            else set[key] = value();
          }
          const p = patch({ set, del, clear: rand(12) === 0, expiresAt: 9e12 + step, createdAt: 1_000 + round });
          const store = pool[rand(pool.length)];
          assert.equal(await store.patch(id, p, TTL), 'ok');
          expect = codec.apply(expect, p);
          if (step % 5 === 4) assert.deepEqual(asMap(await pool[rand(pool.length)].get(id)), asMap(expect), `round ${round} step ${step}`);
        }
        assert.deepEqual(asMap(await a.get(id)), asMap(expect));
        await a.destroy(id);
      }
    });

    for (const n of [20, 200]) {
      test(`${n} concurrent patches of one session${crossInstance ? ', from 4 store instances,' : ''} each setting its own key keep all ${n}`, async () => {
        const id = newId();
        await a.set(id, record({ user: 'ada' }), TTL);
        const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => pool[i % pool.length].patch(id, patch({ set: { [`k${i}`]: i } }), TTL)));
        assert.deepEqual([...new Set(outcomes)], ['ok']);
        const got = asMap(await a.get(id));
        assert.equal(got.entries.size, n + 1);
        for (let i = 0; i < n; i++) assert.ok(got.entries.has(`k${i}`), `k${i} kept`);
        await a.destroy(id);
      });
    }

    // 20 patches from the pool, issued over 5 ms (a page's requests do not all leave at
    // once), and a destroy or forward from an instance of its own landing among them.
    const staggered = (id, n = 20) => Array.from({ length: n }, (_, i) =>
      new Promise((r) => setTimeout(r, i % 5)).then(() => pool[i % pool.length].patch(id, patch({ set: { [`k${i}`]: i } }), TTL)));
    let other;
    before(() => {
      // Without crossInstance the racing write comes from the same instance (its batcher orders it).
      other = crossInstance ? make() : a;
    });

    test('a destroy racing 20 in-flight patches leaves no record', async () => {
      for (let round = 0; round < 6; round++) {
        const id = newId();
        await a.set(id, record({ user: 'ada' }), TTL);
        // Every instance has written this session once, as a live app's would have.
        await Promise.all(pool.map((s, i) => s.patch(id, patch({ set: { [`w${i}`]: i } }), TTL)));
        const patches = staggered(id);
        await new Promise((r) => setTimeout(r, round % 5));
        await other.destroy(id);
        const outcomes = await Promise.all(patches);
        assert.ok(outcomes.every((x) => x === 'ok' || x === 'gone'), JSON.stringify(outcomes));
        for (const s of [...pool, other]) assert.equal(await s.get(id), null, 'logged out for good');
      }
    });

    test('a forward racing in-flight patches: each patch landed before it (in the record it returns) or answers movedTo', async () => {
      for (let round = 0; round < 6; round++) {
        const id = newId();
        const to = newId();
        await a.set(id, record({ user: 'ada' }), TTL);
        await Promise.all(pool.map((s, i) => s.patch(id, patch({ set: { [`w${i}`]: i } }), TTL)));
        const patches = staggered(id);
        await new Promise((r) => setTimeout(r, round % 5));
        const moved = await other.forward(id, marker(to), 5_000);
        const outcomes = await Promise.all(patches);
        const carried = asMap(moved).entries;
        outcomes.forEach((x, i) => {
          if (x === 'ok') assert.ok(carried.has(`k${i}`), `k${i} acknowledged before the forward is in the record it moved`);
          else assert.deepEqual(x, { movedTo: to }, `k${i}`);
        });
        assert.ok([...carried.keys()].every((k) => !k.startsWith('k') || outcomes[Number(k.slice(1))] === 'ok'), 'nothing in the moved record that was not acknowledged');
        assert.equal(forwardTarget(await a.get(id)), to, 'the old id holds the marker, not a session');
        await a.destroy(id);
      }
    });
  });
}
