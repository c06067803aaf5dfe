// The per-key record (v2) reference in src/codec/record.ts: layout rules,
// apply and merge. Native parity and the stores' own apply are tested
// against this reference elsewhere.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

const require = createRequire(import.meta.url);
const r = require('../../dist/codec/record.js');
const L = require('../../dist/codec/layout.js');
const { pack, unpack } = require('msgpackr');

const TAG = r.nameTag('sid');
const w = new r.RecordWriter();

function record(obj, expiresAt = 0, createdAt = 1000) {
  w.begin(L.KIND_RECORD, 0, expiresAt, createdAt, TAG);
  for (const [k, v] of Object.entries(obj)) w.set(k, pack(v));
  return w.finish();
}

/** ops: [['set', k, v] | ['del', k]] */
function patch(ops, { clear = false, expiresAt = 5, createdAt = 1000 } = {}) {
  w.begin(L.KIND_PATCH, clear ? L.FLAG_CLEAR : 0, expiresAt, createdAt, TAG);
  for (const [op, k, v] of ops) (op === 'set' ? w.set(k, pack(v)) : w.delete(k));
  return w.finish();
}

function entries(buf) {
  const v = r.scanRecord(buf);
  assert.notEqual(v, null);
  const out = [];
  for (let i = 0; i < v.count; i++) {
    const at = v.index[4 * i + 2];
    out.push([r.keyAt(buf, v, i), unpack(buf.subarray(at, at + v.index[4 * i + 3]))]);
  }
  return out;
}

describe('record v2 reference', () => {
  it('scans what the writer wrote, header included', () => {
    const buf = record({ a: 1, 'ü€': { x: [1, 2] } }, 77, 1234);
    const v = r.scanRecord(buf);
    assert.equal(v.kind, L.KIND_RECORD);
    assert.equal(v.expiresAt, 77);
    assert.equal(v.createdAt, 1234);
    assert.equal(v.nameTag, TAG);
    assert.deepEqual(entries(buf), [['a', 1], ['ü€', { x: [1, 2] }]]);
    assert.equal(r.findKey(buf, v, 'ü€'), 1);
    assert.equal(r.findKey(buf, v, 'b'), -1);
  });

  it('name tags differ per name', () => {
    assert.notEqual(r.nameTag('cart'), r.nameTag('admin'));
    assert.equal(r.nameTag('sid'), TAG);
  });

  it('refuses every malformed buffer', () => {
    const good = record({ a: 1, b: 2 });
    const bad = [
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.from([0])]),
      Buffer.from([0x68, 1, ...good.subarray(2)]),
      Buffer.from([0x68, 2, 0, 1, ...good.subarray(4)]), // flags on a record
      Buffer.from([0x68, 2, 3, 0, ...good.subarray(4)]), // unknown kind
    ];
    const count = Buffer.from(good);
    count.writeUInt32BE(3, 24);
    bad.push(count);
    const big = Buffer.from(good);
    big.writeUInt32BE(0x00200000, 4); // expiresAt past 2^53
    bad.push(big);
    for (const key of ['__proto__', 'constructor', 'prototype']) bad.push(record({ [key]: 1 }));
    const dup = record({ a: 1, b: 2 });
    dup[dup.indexOf(0x62, 28)] = 0x61; // second key becomes 'a'
    bad.push(dup);
    const utf = record({ ab: 1 });
    utf[30] = 0xc0; // overlong lead byte
    bad.push(utf);
    const del = Buffer.from(good);
    del.writeUInt32BE(L.DELETE, 31); // DELETE in a record
    bad.push(del);
    for (const b of bad) assert.equal(r.scanRecord(b), null, b.toString('hex'));
  });

  it('forward markers carry their target and nothing else', () => {
    const f = r.forwardMarker('newid_123', 99, 1, TAG);
    const v = r.scanRecord(f);
    assert.equal(v.kind, L.KIND_FORWARD);
    assert.equal(v.target, 'newid_123');
    assert.equal(v.expiresAt, 99);
    assert.throws(() => r.forwardMarker('bad id', 1, 1, TAG), RangeError);
  });

  it('apply: untouched entries keep their order, written ones move to the end', () => {
    const out = r.applyPatch(record({ a: 1, b: 2, c: 3 }), patch([['set', 'a', 10], ['del', 'b'], ['set', 'd', 4]]));
    assert.deepEqual(entries(out), [['c', 3], ['a', 10], ['d', 4]]);
    assert.equal(r.scanRecord(out).expiresAt, 5);
    assert.equal(r.scanRecord(out).kind, L.KIND_RECORD);
  });

  it('apply: CLEAR replaces everything and applies to any live value', () => {
    const p = patch([['set', 'x', 1], ['del', 'y']], { clear: true });
    assert.deepEqual(entries(r.applyPatch(record({ a: 1 }), p)), [['x', 1]]);
    assert.deepEqual(entries(r.applyPatch(Buffer.from('{"legacy":true}'), p)), [['x', 1]]);
    assert.deepEqual(entries(r.applyPatch(null, p)), [['x', 1]]);
  });

  it('apply: a patch without CLEAR refuses what is not a v2 record', () => {
    const p = patch([['set', 'x', 1]]);
    assert.equal(r.applyPatch(Buffer.from('{"legacy":true}'), p), null);
    assert.equal(r.applyPatch(r.forwardMarker('abc', 1, 1, TAG), p), null);
    assert.equal(r.applyPatch(null, p), null);
    assert.equal(r.applyPatch(record({ a: 1 }), record({ a: 2 })), null, 'a record is not a patch');
  });

  it('merge is exact: apply(apply(r, p1), p2) equals apply(r, merge(p1, p2)), randomized', () => {
    let seed = 42;
    const rnd = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const keys = ['a', 'b', 'c', 'd', 'e', 'ü'];
    const randomPatch = () => {
      const ops = [];
      const used = new Set();
      for (let i = rnd(4); i >= 0; i--) {
        const k = keys[rnd(keys.length)];
        if (used.has(k)) continue;
        used.add(k);
        ops.push(rnd(3) === 0 ? ['del', k] : ['set', k, rnd(100)]);
      }
      return patch(ops, { clear: rnd(8) === 0, expiresAt: rnd(1000) });
    };
    for (let n = 0; n < 2000; n++) {
      const base = {};
      for (const k of keys) if (rnd(2)) base[k] = rnd(100);
      const rec = record(base);
      const p1 = randomPatch();
      const p2 = randomPatch();
      const seq = r.applyPatch(r.applyPatch(rec, p1), p2);
      const merged = r.applyPatch(rec, r.mergePatches(p1, p2));
      assert.equal(Buffer.compare(seq, merged), 0, `case ${n}`);
    }
  });
});
