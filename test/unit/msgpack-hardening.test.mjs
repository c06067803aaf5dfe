// The record-body decoder on untrusted input: refuses prototype keys,
// unknown extension types, absurd depth and lying lengths before msgpackr
// sees a byte (msgpackr CVE-2023-52079, msgpack5 CVE-2021-21368), and never throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

const require = createRequire(import.meta.url);
// Internal module: not part of the public exports, reached through the build.
const { encodeData, decodeData, isWellFormed, MAX_DEPTH } = require('../../dist/codec/msgpack.js');

const str = (s) => Buffer.concat([Buffer.from([0xa0 | s.length]), Buffer.from(s)]);
const map1 = (k, v) => Buffer.concat([Buffer.from([0x81]), str(k), v]);

test('everything the encoder writes decodes (types that survive)', () => {
  const data = {
    s: 'ü€😀', n: -1.5, i: 2 ** 40, neg: -(2 ** 40), t: true, f: false, z: null, u: undefined,
    d: new Date(1_700_000_000_123), far: new Date(8.64e15), set: new Set([1, new Set(['x'])]),
    buf: Buffer.from([1, 2, 3]), u16: new Uint16Array([1, 65535]), f64: new Float64Array([0.5]), ab: new Uint8Array([1, 2]).buffer,
    big: -(2n ** 100n), small: 7n, arr: [undefined, [[[]]], {}], re: /a+b/gi, err: new TypeError('boom'),
    long: 'x'.repeat(70_000), many: Array.from({ length: 70_000 }, (_, i) => i % 7),
    wide: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i])),
  };
  const body = encodeData(data);
  assert.equal(isWellFormed(body), true);
  const back = decodeData(body);
  const { err, ...rest } = data;
  const { err: err2, ...rest2 } = back;
  assert.deepEqual(rest2, rest);
  assert.ok(err2 instanceof TypeError);
  assert.equal(err2.message, 'boom');
});

test('what msgpack does not keep: Map -> object, class instance -> plain object', () => {
  class Point { constructor() { this.x = 1; } get len() { return 1; } }
  const back = decodeData(encodeData({ m: new Map([['a', 1], [2, 'b']]), p: new Point() }));
  assert.deepEqual(back, { m: { a: 1, 2: 'b' }, p: { x: 1 } });
  assert.equal(Object.getPrototypeOf(back.p), Object.prototype);
});

test('depth: 64 nested containers decode, 65 do not', () => {
  const nest = (n) => {
    const top = {};
    let cur = top;
    for (let i = 1; i < n; i++) cur = cur.a = {};
    return top;
  };
  assert.equal(MAX_DEPTH, 64);
  assert.notEqual(decodeData(encodeData(nest(64))), null);
  assert.equal(decodeData(encodeData(nest(65))), null);
  // Arrays and Sets count too.
  let arr = [];
  const top = { a: arr };
  for (let i = 0; i < 70; i++) arr = arr[0] = [];
  assert.equal(decodeData(encodeData(top)), null);
  // Far past any stack: refused iteratively, no RangeError escapes.
  const deepBytes = Buffer.concat([Buffer.alloc(200_000, 0x91), Buffer.from([0xc0])]);
  assert.equal(decodeData(Buffer.concat([Buffer.from([0x81, 0xa1, 0x61]), deepBytes])), null);
});

test('prototype keys are refused anywhere, nothing is polluted', () => {
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    assert.equal(decodeData(map1(key, Buffer.from([0xc3]))), null, key);
    assert.equal(decodeData(map1('a', Buffer.from([0x91, ...map1(key, map1('polluted', Buffer.from([0xc3])))]))), null, `nested ${key}`);
    // As str8 too, not only fixstr.
    assert.equal(decodeData(Buffer.concat([Buffer.from([0x81, 0xd9, key.length]), Buffer.from(key), Buffer.from([0x01])])), null);
  }
  assert.equal({}.polluted, undefined);
  // Near misses are ordinary keys.
  assert.deepEqual(decodeData(map1('__proto_', Buffer.from([0x01]))), { __proto_: 1 });
  assert.deepEqual(decodeData(map1('constructors', Buffer.from([0x01]))), { constructors: 1 });
});

test('extension types other than the encoder writes are refused', () => {
  for (const type of [0x01, 0x05, 0x62, 0x69, 0x70, 0x72, 0x7f, 0x80, 0xfe]) {
    assert.equal(decodeData(map1('a', Buffer.from([0xd4, type, 0x00]))), null, `fixext1 ${type}`);
    assert.equal(decodeData(map1('a', Buffer.from([0xc7, 0x02, type, 0x00, 0x00]))), null, `ext8 ${type}`);
  }
  // Known types in shapes the encoder never writes.
  assert.equal(decodeData(map1('a', Buffer.from([0xd5, 0xff, 0, 0]))), null, 'timestamp of 2 bytes');
  assert.equal(decodeData(map1('a', Buffer.from([0xc7, 0x00, 0x42]))), null, 'empty BigInt');
  assert.equal(decodeData(map1('a', Buffer.from([0xd4, 0x74, 0x0b]))), null, 'typed array kind 11');
  assert.equal(decodeData(map1('a', Buffer.from([0xd4, 0x73, 0x00, 0x01]))), null, 'Set of a number');
  assert.equal(decodeData(map1('a', Buffer.from([0xd5, 0x73, 0x00, 0x00, 0x90]))), null, 'Set marker of 2 bytes');
  assert.equal(decodeData(map1('a', Buffer.from([0xd5, 0x00, 0x00, 0x00]))), null, 'undefined of 2 bytes');
});

test('lengths that lie, trailing bytes, reserved bytes', () => {
  const cases = [
    Buffer.from([0x81, 0xa1, 0x61, 0xdd, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]),
    Buffer.from([0x81, 0xa1, 0x61, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00]),
    Buffer.from([0x81, 0xa1, 0x61, 0xc9, 0x00, 0x00, 0x10, 0x00, 0x42, 0x00]),
    Buffer.concat([map1('a', Buffer.from([0x01])), Buffer.from([0x01])]),
    map1('a', Buffer.from([0xc1])),
    Buffer.from([0x82, 0xa1, 0x61, 0x01]),
    Buffer.from([0x81, 0xcb, 0x00]),
    Buffer.alloc(0),
  ];
  for (const b of cases) assert.equal(decodeData(b), null, b.toString('hex'));
  // Numbers are fine as map keys (a Map's integer keys); other values are not.
  assert.deepEqual(decodeData(Buffer.from([0x81, 0x07, 0x01])), { 7: 1 });
  assert.equal(decodeData(Buffer.from([0x81, 0xc3, 0x01])), null);
  assert.equal(decodeData(Buffer.from([0x81, 0x80, 0x01])), null);
});

test('fuzz: random and mutated bodies never throw, and only plain objects come out', () => {
  const seed = encodeData({ user: 'ada', list: [1, 'two', { three: new Date(3) }], set: new Set([1]), big: 5n, buf: Buffer.from('hi') });
  const check = (b) => {
    const v = decodeData(b);
    if (v !== null) {
      assert.equal(typeof v, 'object');
      assert.equal(Object.getPrototypeOf(v), Object.prototype);
    }
  };
  for (let i = 0; i < 3000; i++) check(randomBytes(1 + (i % 64)));
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(seed);
    const n = 1 + (i % 4);
    for (let j = 0; j < n; j++) b[(Math.random() * b.length) | 0] = (Math.random() * 256) | 0;
    check(i % 5 === 0 ? b.subarray(0, (Math.random() * b.length) | 0) : b);
  }
  assert.equal({}.polluted, undefined);
});
