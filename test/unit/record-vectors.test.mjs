// Fixed per-key record (v2) vectors every codec must produce and accept: the
// JS reference always, the native addon when it loaded (the run without
// HOTSESSION_NO_NATIVE). The hex was written by the reference of commit
// b667a77 (src/codec/record.ts) and checked by hand against layout.ts.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

const require = createRequire(import.meta.url);
const { jsCodec } = require('../../dist/codec/index.js');
const { loadNativeCodec } = require('../../dist/codec/native.js');
const r = require('../../dist/codec/record.js');
const L = require('../../dist/codec/layout.js');

const noNative = Boolean(process.env.HOTSESSION_NO_NATIVE);
const native = noNative ? null : loadNativeCodec();
const codecs = [['js', jsCodec]];
if (native) codecs.push(['native', native]);
const nativeSkip = native ? false : noNative ? 'HOTSESSION_NO_NATIVE is set' : 'native addon not loaded';

const hex = (s) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const TAG = 0xc3807e5f; // nameTag('sid')

// magic ver kind flags | expiresAt | createdAt | nameTag | count | entries
const REC = hex(`68 02 00 00  0000000102030405  0000018bcfe56800  c3807e5f  00000002
  0001 61 00000001 01
  0005 c3bce282ac 00000006 81a178920102`); // 'a' -> 1, 'ü€' -> {x: [1, 2]}
const PATCH = hex(`68 02 02 00  0000018bd50bc400  0000018bcfe56800  c3807e5f  00000003
  0001 61 00000001 0a
  0005 c3bce282ac ffffffff
  0001 62 00000003 a26869`); // set a = 10, delete 'ü€', set b = 'hi'
const APPLIED = hex(`68 02 00 00  0000018bd50bc400  0000018bcfe56800  c3807e5f  00000002
  0001 61 00000001 0a
  0001 62 00000003 a26869`);
const CLEAR = hex(`68 02 02 01  0000000000000000  0000018bcfe56801  c3807e5f  00000002
  0001 78 00000001 c3
  0001 79 ffffffff`); // CLEAR, set x = true, delete y
const APPLY_CLEAR = hex(`68 02 00 00  0000000000000000  0000018bcfe56801  c3807e5f  00000001
  0001 78 00000001 c3`);
// merge(CLEAR, PATCH): PATCH's header with CLEAR's flags, CLEAR's entries PATCH does not name, then PATCH's.
const MERGE_CLEAR_PATCH = hex(`68 02 02 01  0000018bd50bc400  0000018bcfe56800  c3807e5f  00000005
  0001 78 00000001 c3
  0001 79 ffffffff
  0001 61 00000001 0a
  0005 c3bce282ac ffffffff
  0001 62 00000003 a26869`);
const REC3 = hex(`68 02 00 00  0000000000000000  0000000000000001  c3807e5f  00000003
  0001 61 00000001 01  0001 62 00000001 02  0001 63 00000001 03`);
const P3 = hex(`68 02 02 00  0000000000000005  0000000000000001  c3807e5f  00000001
  0001 62 00000001 14`);
// The key a commit wrote moves to the end.
const APPLY3 = hex(`68 02 00 00  0000000000000005  0000000000000001  c3807e5f  00000003
  0001 61 00000001 01  0001 63 00000001 03  0001 62 00000001 14`);
const FORWARD = hex(`68 02 01 00  0000000000000063  0000000000000001  c3807e5f  00000000
  6e657769645f313233`); // -> 'newid_123'
const EMPTY_MAX = hex(`68 02 00 00  001fffffffffffff  001fffffffffffff  00000000  00000000`);

const plain = (v) => v && { ...v, index: [...v.index] };

/** REC with bytes from `at` replaced by `bytes` (hex). */
function edit(base, at, bytes) {
  const b = Buffer.from(base);
  hex(bytes).copy(b, at);
  return b;
}

/** A RECORD with these keys (hex UTF-8 or strings), one-byte values. */
function recordOf(keys, kind = 0, flags = 0) {
  const parts = [hex(`68 02 ${kind.toString(16).padStart(2, '0')} ${flags.toString(16).padStart(2, '0')} 0000000000000000 0000000000000001 c3807e5f`)];
  const count = Buffer.alloc(4);
  count.writeUInt32BE(keys.length);
  parts.push(count);
  for (const k of keys) {
    const kb = Buffer.isBuffer(k) ? k : Buffer.from(k, 'utf8');
    const head = Buffer.alloc(2);
    head.writeUInt16BE(kb.length);
    parts.push(head, kb, hex('00000001 c0'));
  }
  return Buffer.concat(parts);
}

const REJECTED = [
  ['27 bytes', REC.subarray(0, 27)],
  ['truncated by one', REC.subarray(0, REC.length - 1)],
  ['one trailing byte', Buffer.concat([REC, hex('00')])],
  ['magic', edit(REC, 0, '69')],
  ['version 1', edit(REC, 1, '01')],
  ['version 3', edit(REC, 1, '03')],
  ['kind 3', edit(REC, 2, '03')],
  ['flags on a record', edit(REC, 3, '01')],
  ['flags on a forward marker', edit(FORWARD, 3, '01')],
  ['patch flag other than CLEAR', edit(PATCH, 3, '02')],
  ['patch flags 0x81', edit(PATCH, 3, '81')],
  ['expiresAt 2^53', edit(REC, 4, '0020000000000000')],
  ['createdAt 2^64 - 1', edit(REC, 12, 'ffffffffffffffff')],
  ['count one too many', edit(REC, 24, '00000003')],
  ['count one too few', edit(REC, 24, '00000001')],
  ['count 2^32 - 1', edit(REC, 24, 'ffffffff')],
  ['key length past the end', edit(REC, 28, 'ffff')],
  ['value length past the end', edit(REC, 31, '00000002')],
  ['value length 2^32 - 2', edit(REC, 31, 'fffffffe')],
  ['DELETE in a record', edit(REC, 31, 'ffffffff')],
  ['forbidden key __proto__', recordOf(['a', '__proto__'])],
  ['forbidden key constructor', recordOf(['constructor'])],
  ['forbidden key prototype', recordOf(['prototype', 'b'])],
  ['duplicate keys', recordOf(['a', 'b', 'a'])],
  ['duplicate keys among 40 (hash path)', recordOf([...Array.from({ length: 39 }, (_, i) => `key${i}`), 'key17'])],
  ['duplicate non-ASCII keys', recordOf(['ü€', 'x', 'ü€'])],
  ['duplicate in a patch', edit(PATCH, 49, '61')], // 'b' becomes a second 'a'
  ['overlong NUL (C0 80)', recordOf([hex('c080')])],
  ['overlong 3-byte (E0 80 80)', recordOf([hex('e08080')])],
  ['overlong 4-byte (F0 8F BF BF)', recordOf([hex('f08fbfbf')])],
  ['surrogate (ED A0 80)', recordOf([hex('eda080')])],
  ['past U+10FFFF (F4 90 80 80)', recordOf([hex('f4908080')])],
  ['lead byte F5', recordOf([hex('f5808080')])],
  ['lone continuation', recordOf([hex('6180')])],
  ['truncated sequence at the end of a key', recordOf([hex('61e282')])],
  ['FF in a key', recordOf([hex('ff')])],
  ['forward marker with a count', edit(FORWARD, 24, '00000001')],
  ['forward marker without target', FORWARD.subarray(0, 28)],
  ['forward target with a space', edit(FORWARD, 30, '20')],
  ['forward target with DEL', edit(FORWARD, 30, '7f')],
  ['forward target of 256 bytes', Buffer.concat([FORWARD.subarray(0, 28), Buffer.alloc(256, 0x61)])],
];

const ACCEPTED = [
  ['empty key', recordOf([''])],
  ['keys next to the forbidden ones', recordOf(['__proto_', 'constructors', 'Prototype', '__proto__x'])],
  ['4-byte, U+FFFF and U+10FFFF keys', recordOf([hex('f09f9880'), hex('efbfbf'), hex('f48fbfbf'), hex('efbbbf')])],
  ['40 distinct keys', recordOf(Array.from({ length: 40 }, (_, i) => `key${i}`))],
  ['a CLEAR patch with no entries', recordOf([], 2, 1)],
  ['a patch of deletions only', hex(`68 02 02 00 0000000000000000 0000000000000000 00000000 00000002 0001 61 ffffffff 0000 ffffffff`)],
  ['forward target of 255 bytes', Buffer.concat([FORWARD.subarray(0, 28), Buffer.alloc(255, 0x7e)])],
  ['empty value', hex(`68 02 00 00 0000000000000000 0000000000000000 00000000 00000001 0001 61 00000000`)],
];

for (const [label, c] of codecs) {
  describe(`${label} codec: record v2 vectors`, () => {
    it('scan() reads header and index exactly', () => {
      assert.deepEqual(plain(c.scan(REC)), {
        kind: 0, flags: 0, expiresAt: 0x0102030405, createdAt: 1700000000000, nameTag: TAG, count: 2,
        index: [30, 1, 35, 1, 38, 5, 47, 6], target: null,
      });
      assert.deepEqual(plain(c.scan(PATCH)), {
        kind: 2, flags: 0, expiresAt: 1700086400000, createdAt: 1700000000000, nameTag: TAG, count: 3,
        index: [30, 1, 35, 1, 38, 5, 47, L.DELETE, 49, 1, 54, 3], target: null,
      });
      assert.deepEqual(plain(c.scan(CLEAR)), {
        kind: 2, flags: 1, expiresAt: 0, createdAt: 1700000000001, nameTag: TAG, count: 2,
        index: [30, 1, 35, 1, 38, 1, 43, L.DELETE], target: null,
      });
      assert.deepEqual(plain(c.scan(FORWARD)), {
        kind: 1, flags: 0, expiresAt: 99, createdAt: 1, nameTag: TAG, count: 0, index: [], target: 'newid_123',
      });
      assert.deepEqual(plain(c.scan(EMPTY_MAX)), {
        kind: 0, flags: 0, expiresAt: Number.MAX_SAFE_INTEGER, createdAt: Number.MAX_SAFE_INTEGER, nameTag: 0,
        count: 0, index: [], target: null,
      });
    });

    it('scan() reads a view of a larger buffer by its own offsets', () => {
      const big = Buffer.concat([Buffer.from('junk'), REC, Buffer.from('more')]);
      assert.deepEqual(plain(c.scan(big.subarray(4, 4 + REC.length))).index, [30, 1, 35, 1, 38, 5, 47, 6]);
      assert.equal(c.scan(new Uint8Array(REC)).count, 2, 'a plain Uint8Array');
    });

    it('apply() gives the documented bytes', () => {
      assert.deepEqual(c.apply(REC, PATCH), APPLIED);
      assert.deepEqual(c.apply(REC3, P3), APPLY3);
      assert.deepEqual(c.apply(Buffer.from('{"legacy":1}'), CLEAR), APPLY_CLEAR, 'CLEAR upgrades a legacy value');
      assert.deepEqual(c.apply(null, CLEAR), APPLY_CLEAR, 'CLEAR needs no record');
      assert.deepEqual(c.apply(REC, CLEAR), APPLY_CLEAR);
      assert.deepEqual(c.apply(FORWARD, CLEAR), APPLY_CLEAR);
    });

    it('apply() refuses what cannot apply', () => {
      assert.equal(c.apply(null, PATCH), null, 'no record, no CLEAR');
      assert.equal(c.apply(Buffer.from('{"legacy":1}'), PATCH), null);
      assert.equal(c.apply(FORWARD, PATCH), null, 'a forward marker is never patched');
      assert.equal(c.apply(PATCH, PATCH), null, 'a patch is not a record');
      assert.equal(c.apply(REC, REC), null, 'a record is not a patch');
      assert.equal(c.apply(REC, FORWARD), null);
      assert.equal(c.apply(REC.subarray(1), PATCH), null);
      assert.equal(c.apply(REC, PATCH.subarray(0, PATCH.length - 1)), null);
    });

    it('merge() gives the documented bytes', () => {
      assert.deepEqual(c.merge(CLEAR, PATCH), MERGE_CLEAR_PATCH);
      assert.deepEqual(c.merge(PATCH, CLEAR), CLEAR, 'a later CLEAR wins whole');
      assert.equal(c.merge(REC, PATCH), null);
      assert.equal(c.merge(PATCH, REC), null);
      assert.equal(c.merge(PATCH, PATCH.subarray(0, 40)), null, 'both must be well formed, even before a CLEAR');
      assert.equal(c.merge(PATCH.subarray(0, 40), CLEAR), null);
      assert.deepEqual(c.apply(REC, c.merge(CLEAR, PATCH)), c.apply(c.apply(REC, CLEAR), PATCH));
    });

    it('apply() and merge() results are exactly sized Buffers of their own bytes', () => {
      const out = c.apply(REC, PATCH);
      assert.ok(Buffer.isBuffer(out));
      assert.equal(out.length, APPLIED.length);
      const next = c.apply(REC3, P3);
      assert.deepEqual(out, APPLIED, 'a later call does not overwrite an earlier result');
      assert.deepEqual(next, APPLY3);
      const m = c.merge(CLEAR, PATCH);
      assert.ok(Buffer.isBuffer(m));
      assert.equal(m.length, MERGE_CLEAR_PATCH.length);
      const again = c.merge(PATCH, CLEAR);
      again[4] ^= 1;
      assert.deepEqual(c.scan(CLEAR).expiresAt, 0, 'a copy, not the input');
    });

    it('scan() refuses every malformed vector, and apply()/merge() with it', () => {
      for (const [why, b] of REJECTED) {
        assert.equal(c.scan(b), null, `${why}: ${b.toString('hex')}`);
        if (b[2] === 2) {
          assert.equal(c.apply(REC, b), null, `apply, ${why}`);
          assert.equal(c.merge(b, PATCH), null, `merge, ${why}`);
        } else {
          assert.equal(c.apply(b, PATCH), null, `apply to it, ${why}`);
        }
      }
    });

    it('scan() accepts the edge cases layout.ts allows', () => {
      for (const [why, b] of ACCEPTED) assert.notEqual(c.scan(b), null, `${why}: ${b.toString('hex')}`);
      const keys = c.scan(ACCEPTED[1][1]);
      assert.equal(r.keyAt(ACCEPTED[1][1], keys, 3), '__proto__x');
    });
  });
}

describe('RecordWriter and forwardMarker write the vectors', () => {
  it('writes REC, PATCH, CLEAR and FORWARD byte for byte', () => {
    const w = new r.RecordWriter();
    assert.deepEqual(w.begin(0, 0, 0x0102030405, 1700000000000, TAG).set('a', hex('01')).set('ü€', hex('81a178920102')).finish(), REC);
    assert.deepEqual(w.begin(2, 0, 1700086400000, 1700000000000, TAG).set('a', hex('0a')).delete('ü€').set('b', hex('a26869')).finish(), PATCH);
    assert.deepEqual(w.begin(2, 1, 0, 1700000000001, TAG).set('x', hex('c3')).delete('y').finish(), CLEAR);
    assert.deepEqual(r.forwardMarker('newid_123', 99, 1, TAG), FORWARD);
    assert.equal(r.nameTag('sid'), TAG);
  });

  it('copy() carries an entry over unchanged, and long records grow the scratch', () => {
    const w = new r.RecordWriter();
    const v = jsCodec.scan(REC);
    assert.deepEqual(w.begin(0, 0, 0x0102030405, 1700000000000, TAG).copy(REC, v, 0).copy(REC, v, 1).finish(), REC);
    w.begin(0, 0, 0, 0, TAG);
    const big = Buffer.alloc(3000, 0xc0);
    for (let i = 0; i < 5; i++) w.set(`k${i}`, big);
    const out = w.finish();
    assert.equal(jsCodec.scan(out).count, 5);
    assert.equal(out.length, 28 + 5 * (6 + 2 + 3000));
  });
});

describe('findKey and keyAt', () => {
  it('find ASCII and non-ASCII keys, and miss what is absent', () => {
    const v = jsCodec.scan(REC);
    assert.equal(r.findKey(REC, v, 'a'), 0);
    assert.equal(r.findKey(REC, v, 'ü€'), 1);
    assert.equal(r.findKey(REC, v, 'b'), -1);
    assert.equal(r.findKey(REC, v, ''), -1);
    assert.equal(r.findKey(REC, v, 'aa'), -1);
    assert.equal(r.findKey(REC, v, 'ü'), -1);
    assert.equal(r.keyAt(REC, v, 1), 'ü€');
    const e = jsCodec.scan(ACCEPTED[0][1]);
    assert.equal(r.findKey(ACCEPTED[0][1], e, ''), 0);
  });
});

describe('native record wrapper argument checks', { skip: nativeSkip }, () => {
  it('throws TypeError instead of handing C++ a wrong type', () => {
    for (const bad of ['68020000', [0x68, 2], null, undefined, 42, new Uint16Array(20)]) {
      assert.throws(() => native.scan(bad), TypeError, String(bad));
      assert.throws(() => native.apply(REC, bad), TypeError, String(bad));
      assert.throws(() => native.merge(PATCH, bad), TypeError, String(bad));
      assert.throws(() => native.merge(bad, PATCH), TypeError, String(bad));
    }
    for (const bad of ['x', [1], 0, new Uint16Array(20)]) assert.throws(() => native.apply(bad, PATCH), TypeError);
  });
});
