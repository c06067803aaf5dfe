// The memory store's two building blocks on their own: the slab arena
// (records in memory of its own, compacted, views never rewritten) and the
// segmented LRU policy (src/stores/memory/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Arena } = require('../../dist/stores/memory/arena.js');
const { SegmentedLru } = require('../../dist/stores/memory/slru.js');

const SLAB = 64 * 1024;

function bytes(len, fill) {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = (fill + i * 31) & 0xff;
  return b;
}

test('arena: random puts and frees read back exactly, views keep their bytes, memory stays bounded', () => {
  const arena = new Arena();
  const slots = 400;
  arena.grow(slots);
  const model = new Map();
  const views = [];
  let seed = 11;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  for (let step = 0; step < 40_000; step++) {
    const slot = rnd(slots);
    if (rnd(5) === 0) {
      arena.free(slot);
      model.delete(slot);
    } else {
      // Mostly session-sized, sometimes larger than a slab's eighth (a buffer of its own).
      const len = rnd(50) === 0 ? 9000 + rnd(20_000) : rnd(600);
      const b = bytes(len, step);
      arena.put(slot, b);
      model.set(slot, b);
    }
    if (step % 97 === 0) {
      const v = arena.view(slot);
      views.push([v, Buffer.from(v)]);
    }
    if (step % 1000 === 0) {
      let live = 0;
      let large = 0;
      for (const [s, b] of model) {
        assert.deepEqual(arena.view(s), b, `slot ${s} at step ${step}`);
        if (b.length > SLAB / 8) large += 8 + b.length;
        else live += 8 + b.length;
      }
      // Every slab but the one being filled is at least 60% live.
      assert.ok(arena.allocated <= live / 0.6 + SLAB + large, `allocated ${arena.allocated}, live ${live}, large ${large}`);
    }
  }
  for (const [s, b] of model) assert.deepEqual(arena.view(s), b);
  for (let s = 0; s < slots; s++) if (!model.has(s)) assert.equal(arena.length(s), 0);
  for (const [v, copy] of views) assert.deepEqual(v, copy, 'a view handed out is never written again');
});

test('arena: freeing everything releases every slab', () => {
  const arena = new Arena();
  arena.grow(1000);
  for (let i = 0; i < 1000; i++) arena.put(i, bytes(300, i));
  assert.ok(arena.allocated >= 300_000);
  for (let i = 0; i < 1000; i++) arena.free(i);
  assert.ok(arena.allocated <= SLAB, `only the slab being filled is left: ${arena.allocated}`);
});

test('slru: new entries go to probation and are evicted first; a hit promotes; protected overflows back to probation', () => {
  const lru = new SegmentedLru(5);
  assert.equal(lru.protectedMax, 4);
  const s = [lru.insert(), lru.insert(), lru.insert()];
  assert.equal(lru.victim(), s[0], 'oldest probation entry');
  lru.hit(s[0]);
  assert.ok(lru.isProtected(s[0]));
  assert.equal(lru.victim(), s[1]);
  lru.touch(s[1]);
  assert.equal(lru.victim(), s[2], 'a write refreshes within its segment, promotes nothing');
  assert.ok(!lru.isProtected(s[1]));
  const more = [lru.insert(), lru.insert()];
  assert.equal(lru.size, 5);
  assert.throws(() => lru.insert(), RangeError);
  for (const x of [s[1], s[2], more[0], more[1]]) lru.hit(x); // five hits, room for four
  assert.equal(lru.protected, 4);
  assert.equal(lru.probation, 1);
  assert.equal(lru.victim(), s[0], 'the least recently used protected entry was demoted');
  lru.remove(s[0]);
  assert.equal(lru.size, 4);
  const again = lru.insert();
  assert.equal(again, s[0], 'slots are reused');
  lru.clear();
  assert.equal(lru.size, 0);
  assert.equal(lru.victim(), -1);
});

test('slru: every operation keeps the lists consistent under random use', () => {
  const max = 64;
  const lru = new SegmentedLru(max, 4);
  const live = new Set();
  let seed = 3;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  for (let i = 0; i < 20_000; i++) {
    const op = rnd(4);
    if (op === 0 || live.size === 0) {
      if (lru.size >= max) {
        const v = lru.victim();
        assert.ok(live.has(v));
        lru.remove(v);
        live.delete(v);
      }
      const slot = lru.insert();
      assert.ok(!live.has(slot));
      live.add(slot);
    } else {
      const slot = [...live][rnd(live.size)];
      if (op === 1) lru.hit(slot);
      else if (op === 2) lru.touch(slot);
      else {
        lru.remove(slot);
        live.delete(slot);
      }
    }
    assert.equal(lru.size, live.size);
    assert.ok(lru.protected <= lru.protectedMax);
  }
  // Draining by victim() visits every live slot exactly once.
  const seen = new Set();
  while (lru.size > 0) {
    const v = lru.victim();
    assert.ok(live.has(v) && !seen.has(v));
    seen.add(v);
    lru.remove(v);
  }
  assert.equal(seen.size, live.size);
});
