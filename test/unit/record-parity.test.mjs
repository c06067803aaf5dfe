// Randomized cross-checks of the per-key record (v2): the native addon, the
// JS codec and a plain model written here from layout.ts's text alone
// (Buffer reads, a fatal TextDecoder, Sets), on valid, mutated and hostile
// input. Seeded; a failure prints the seed and the input.
//   HOTSESSION_PARITY_SEED=123 HOTSESSION_PARITY_ROUNDS=20000 node --test test/unit/record-parity.test.mjs
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { jsCodec } = require('../../dist/codec/index.js');
const { loadNativeCodec } = require('../../dist/codec/native.js');

const noNative = Boolean(process.env.HOTSESSION_NO_NATIVE);
const native = noNative ? null : loadNativeCodec();
const codecs = [['js', jsCodec]];
if (native) codecs.push(['native', native]);
// The addon's own scanner, called past the wrapper (which may answer small
// buffers in JS): its verdict and index are held to the model as well.
const addon = native ? require('node-gyp-build')(fileURLToPath(new URL('../..', import.meta.url))) : null;
let addonIndex = new Uint32Array(1024);
function addonScan(b) {
  const count = b.length >= 28 ? Buffer.from(b.buffer, b.byteOffset, b.length).readUInt32BE(24) : 0;
  if (addonIndex.length < 4 * count && count * 6 <= b.length) addonIndex = new Uint32Array(4 * count);
  const kind = addon.scan(b, new Uint8Array(addonIndex.buffer), 0);
  if (kind === -2) return 'index too small';
  return kind < 0 ? null : { kind, index: [...addonIndex.subarray(0, kind === 1 ? 0 : 4 * count)] };
}
const SEED = Number(process.env.HOTSESSION_PARITY_SEED ?? (Date.now() % 2 ** 31));
const ROUNDS = Number(process.env.HOTSESSION_PARITY_ROUNDS ?? 4000);

// mulberry32, as in codec-parity.test.mjs.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const int = (n) => Math.floor(rand() * n);
const pick = (xs) => xs[int(xs.length)];
const chance = (p) => rand() < p;

// ---- the model: layout.ts read literally ------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_TIME = 2n ** 53n - 1n;

function modelScan(input) {
  const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (b.length < 28 || b[0] !== 0x68 || b[1] !== 2) return null;
  const kind = b[2];
  const flags = b[3];
  if (kind > 2 || (kind === 2 ? (flags | 1) !== 1 : flags !== 0)) return null;
  const expiresAt = b.readBigUInt64BE(4);
  const createdAt = b.readBigUInt64BE(12);
  if (expiresAt > MAX_TIME || createdAt > MAX_TIME) return null;
  const head = { kind, flags, expiresAt: Number(expiresAt), createdAt: Number(createdAt), nameTag: b.readUInt32BE(20) };
  const count = b.readUInt32BE(24);
  if (kind === 1) {
    const t = b.subarray(28);
    if (count !== 0 || t.length < 1 || t.length > 255 || t.some((c) => c < 0x21 || c > 0x7e)) return null;
    return { ...head, count: 0, index: [], target: t.toString('latin1') };
  }
  const index = [];
  const seen = new Set();
  let pos = 28;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > b.length) return null;
    const klen = b.readUInt16BE(pos);
    const kat = pos + 2;
    if (kat + klen + 4 > b.length) return null;
    const key = b.subarray(kat, kat + klen);
    try {
      utf8.decode(key);
    } catch {
      return null;
    }
    const name = key.toString('latin1');
    if (FORBIDDEN.has(name) || seen.has(name)) return null;
    seen.add(name);
    const vlen = b.readUInt32BE(kat + klen);
    const vat = kat + klen + 4;
    if (vlen === 0xffffffff) {
      if (kind !== 2) return null;
      pos = vat;
    } else {
      if (vat + vlen > b.length) return null;
      pos = vat + vlen;
    }
    index.push(kat, klen, vat, vlen);
  }
  if (pos !== b.length) return null;
  return { ...head, count, index, target: null };
}

/** Entries of a model view: key (latin1), whole entry bytes, deletion or not. */
function entriesOf(b, v) {
  const out = [];
  for (let i = 0; i < v.count; i++) {
    const [kat, klen, vat, vlen] = v.index.slice(4 * i, 4 * i + 4);
    const end = vlen === 0xffffffff ? vat : vat + vlen;
    out.push({ key: Buffer.from(b.subarray(kat, kat + klen)).toString('latin1'), bytes: b.subarray(kat - 2, end), del: vlen === 0xffffffff });
  }
  return out;
}

function assemble(later, kind, flags, entries) {
  const head = Buffer.alloc(28);
  head[0] = 0x68;
  head[1] = 2;
  head[2] = kind;
  head[3] = flags;
  Buffer.from(later.subarray(4, 24)).copy(head, 4);
  head.writeUInt32BE(entries.length, 24);
  return Buffer.concat([head, ...entries.map((e) => e.bytes)]);
}

function modelApply(record, patch) {
  const pv = modelScan(patch);
  if (pv === null || pv.kind !== 2) return null;
  const sets = entriesOf(patch, pv).filter((e) => !e.del);
  if (pv.flags & 1) return assemble(patch, 0, 0, sets);
  const rv = record === null ? null : modelScan(record);
  if (rv === null || rv.kind !== 0) return null;
  const named = new Set(entriesOf(patch, pv).map((e) => e.key));
  return assemble(patch, 0, 0, [...entriesOf(record, rv).filter((e) => !named.has(e.key)), ...sets]);
}

function modelMerge(p1, p2) {
  const v1 = modelScan(p1);
  const v2 = modelScan(p2);
  if (v1 === null || v2 === null || v1.kind !== 2 || v2.kind !== 2) return null;
  if (v2.flags & 1) return Buffer.from(p2);
  const second = entriesOf(p2, v2);
  const named = new Set(second.map((e) => e.key));
  return assemble(p2, 2, v1.flags, [...entriesOf(p1, v1).filter((e) => !named.has(e.key)), ...second]);
}

// ---- inputs ----------------------------------------------------------------

const KEYS = ['a', 'b', 'c', 'user', 'cart', 'views', 'ü', '€', '😀', 'ü€', '', '__proto_', 'constructors', 'Prototype', 'x'.repeat(40)];
const BAD_UTF8 = ['c080', 'e08080', 'eda080', 'edbfbf', 'f08fbfbf', 'f4908080', 'f5', 'ff', '80', 'e282', 'c3', 'f09f98'];

function randomKey() {
  const r = int(10);
  if (r < 6) return Buffer.from(pick(KEYS), 'utf8');
  if (r < 8) {
    let s = '';
    for (let i = int(12); i > 0; i--) s += String.fromCodePoint(chance(0.8) ? 0x21 + int(94) : pick([0xe9, 0x20ac, 0x1f600, 0xffff, 0x10ffff, 0xfeff]));
    return Buffer.from(s, 'utf8');
  }
  return Buffer.from(`k${int(1000)}`);
}

function randomValue() {
  const n = pick([0, 1, 1, 2, 5, 17, 100]);
  const v = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) v[i] = int(256);
  return v;
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function u64(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function entryBytes(key, value) {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(key.length);
  return value === null ? Buffer.concat([head, key, u32(0xffffffff)]) : Buffer.concat([head, key, u32(value.length), value]);
}

/** A well-formed buffer of `kind` with `n` distinct keys (patches: some deletions). */
function build(kind, n, flags = 0) {
  const seen = new Set();
  const parts = [];
  for (let i = 0; i < n; i++) {
    const k = randomKey();
    const name = k.toString('latin1');
    if (seen.has(name)) continue;
    seen.add(name);
    parts.push(entryBytes(k, kind === 2 && chance(0.25) ? null : randomValue()));
  }
  const e = chance(0.2) ? 0 : int(2 ** 31) * 1000;
  const head = Buffer.concat([Buffer.from([0x68, 2, kind, flags]), u64(e), u64(int(2 ** 31) * 1000), u32(int(2 ** 32)), u32(parts.length)]);
  return Buffer.concat([head, ...parts]);
}

function forward() {
  const n = pick([1, 9, 32, 255, int(255) + 1]);
  let t = '';
  for (let i = 0; i < n; i++) t += String.fromCharCode(0x21 + int(94));
  return Buffer.concat([Buffer.from([0x68, 2, 1, 0]), u64(int(1000)), u64(int(1000)), u32(int(2 ** 32)), u32(0), Buffer.from(t, 'latin1')]);
}

function randomBuffer() {
  switch (int(8)) {
    case 0: return forward();
    case 1: case 2: case 3: return build(0, pick([0, 1, 3, 8, 9, 16, 17, 30, 60]));
    default: return build(2, pick([0, 1, 2, 5, 9, 20]), chance(0.2) ? 1 : 0);
  }
}

const INTERESTING = [0x00, 0x01, 0x02, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];

/** Offsets of the length fields of a scannable buffer, for targeted damage. */
function lengthFields(b) {
  const v = modelScan(b);
  if (v === null) return [];
  const out = [];
  for (let i = 0; i < v.count; i++) out.push({ k: v.index[4 * i] - 2, l: v.index[4 * i] + v.index[4 * i + 1] });
  return out;
}

function mutate(input) {
  if (input.length < 28) return Buffer.concat([input, randomValue()]);
  let b = Buffer.from(input);
  const fields = lengthFields(b);
  const f = fields.length > 0 ? pick(fields) : null;
  switch (int(14)) {
    case 0: return b.subarray(0, int(b.length));
    case 1: b[int(b.length)] ^= 1 << int(8); return b;
    case 2: b[int(b.length)] = pick(INTERESTING); return b;
    case 3: b.writeUInt32BE(pick([0, 1, 0xffffffff, 0x7fffffff, b.readUInt32BE(24) + 1, Math.max(0, b.readUInt32BE(24) - 1)]) >>> 0, 24); return b;
    case 4: if (f) b.writeUInt16BE(pick([0, 0xffff, Math.min(0xffff, b.readUInt16BE(f.k) + 1), Math.max(0, b.readUInt16BE(f.k) - 1)]), f.k); return b;
    case 5: if (f) b.writeUInt32BE(pick([0, 0xffffffff, 0xfffffffe, 0x80000000, b.readUInt32BE(f.l) + 1]) >>> 0, f.l); return b;
    case 6: return Buffer.concat([b, randomValue()]);
    case 7: { // duplicate an entry
      if (!f) return b;
      const v = modelScan(b);
      const i = fields.indexOf(f);
      const end = i + 1 < fields.length ? fields[i + 1].k : b.length;
      const copy = Buffer.concat([b.subarray(0, end), b.subarray(f.k, end), b.subarray(end)]);
      copy.writeUInt32BE(v.count + 1, 24);
      return copy;
    }
    case 8: { // a forbidden or broken key in place of one entry's key
      if (!f) return b;
      const key = chance(0.5) ? Buffer.from(pick([...FORBIDDEN])) : Buffer.from(pick(BAD_UTF8), 'hex');
      const klen = b.readUInt16BE(f.k);
      const head = Buffer.alloc(2);
      head.writeUInt16BE(key.length);
      return Buffer.concat([b.subarray(0, f.k), head, key, b.subarray(f.k + 2 + klen)]);
    }
    case 9: b.set(pick([u64(2 ** 53), u64(2 ** 53 - 1), Buffer.from('ffffffffffffffff', 'hex'), u64(0)]), pick([4, 12])); return b;
    case 10: b[2] = int(4); b[3] = pick([0, 1, 2, 0x80, 0xff]); return b;
    case 11: return Buffer.concat([b.subarray(0, 28), Buffer.alloc(int(64), pick(INTERESTING)), b.subarray(28)]);
    case 12: { // DELETE marker on a record entry
      if (f) b.writeUInt32BE(0xffffffff, f.l);
      return b;
    }
    default:
      b = Buffer.from(b);
      for (let i = int(4) + 1; i > 0; i--) b[int(b.length)] = int(256);
      return b;
  }
}

function maybeMutate(b) {
  if (!chance(0.5)) return b;
  let out = mutate(b);
  if (chance(0.3) && out.length > 0) out = mutate(out);
  return out;
}

// ---- comparisons -----------------------------------------------------------

const plain = (v) => v && { ...v, index: [...v.index] };
const show = (b) => (b === null ? 'null' : Buffer.from(b).toString('hex'));

function checkScan(b) {
  const expected = modelScan(b);
  if (addon) {
    const got = addonScan(b);
    const want = expected && { kind: expected.kind, index: expected.index };
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      assert.fail(`addon scan disagrees with the model (seed ${SEED})\ninput: ${show(b)}\nexpected: ${JSON.stringify(want)}\ngot: ${JSON.stringify(got)}`);
    }
  }
  for (const [label, c] of codecs) {
    const got = plain(c.scan(b));
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      assert.fail(`${label} scan disagrees with the model (seed ${SEED})\ninput: ${show(b)}\nexpected: ${JSON.stringify(expected)}\ngot: ${JSON.stringify(got)}`);
    }
  }
  return expected;
}

function checkBytes(what, expected, run) {
  for (const [label, c] of codecs) {
    const got = run(c);
    const same = got === null || expected === null ? got === expected : Buffer.compare(got, expected) === 0;
    if (!same) assert.fail(`${label} ${what} disagrees with the model (seed ${SEED})\nexpected: ${show(expected)}\ngot: ${show(got)}`);
  }
  return expected;
}

function checkApply(record, patch) {
  return checkBytes(`apply(${show(record)}, ${show(patch)})`, modelApply(record, patch), (c) => c.apply(record, patch));
}

function checkMerge(p1, p2) {
  return checkBytes(`merge(${show(p1)}, ${show(p2)})`, modelMerge(p1, p2), (c) => c.merge(p1, p2));
}

/** `n` distinct 6-letter keys whose FNV-1a hash (as record.ts seeds it) agrees in the low 7 bits. */
function fnvCollisions(n) {
  const out = [];
  const seen = new Set();
  while (out.length < n) {
    let k = '';
    for (let i = 0; i < 6; i++) k += String.fromCharCode(0x61 + int(26));
    let h = 0x811c9dc5 ^ 6;
    for (let i = 0; i < 6; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193);
    if ((h & 127) === 0 && !seen.has(k)) {
      seen.add(k);
      out.push(k);
    }
  }
  return out;
}

function recordOfKeys(keys) {
  const head = Buffer.concat([Buffer.from([0x68, 2, 0, 0]), u64(0), u64(1), u32(7), u32(keys.length)]);
  return Buffer.concat([head, ...keys.map((k) => entryBytes(Buffer.from(k, 'utf8'), Buffer.from([0xc0])))]);
}

describe(`record v2 parity: ${codecs.map((c) => c[0]).join(' + ')} vs the model (seed ${SEED}, ${ROUNDS} rounds)`, () => {
  it('scan: valid, mutated and hostile buffers', () => {
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const b = randomBuffer();
      assert.notEqual(checkScan(b), null, `the generator wrote an invalid buffer: ${show(b)}`);
      accepted++;
      if (checkScan(mutate(b)) === null) refused++;
    }
    // Guards the mutator: a parity run whose mutations never break anything proves little.
    assert.ok(refused > ROUNDS / 2, `only ${refused} of ${ROUNDS} mutations were refused`);
    assert.ok(accepted === ROUNDS);
  });

  it('scan: random bytes and random headers over garbage', () => {
    for (let i = 0; i < ROUNDS; i++) {
      const n = pick([0, 1, 27, 28, 29, 34, 64, 200]);
      const b = Buffer.allocUnsafe(n);
      for (let k = 0; k < n; k++) b[k] = int(256);
      if (n >= 4 && chance(0.7)) b.set([0x68, 2, int(3), int(2)]);
      if (n >= 28 && chance(0.7)) b.fill(0, 4, 6).fill(0, 12, 14).writeUInt32BE(int(8), 24);
      checkScan(b);
    }
  });

  it('apply: records, legacy values, forward markers and null under valid and damaged patches', () => {
    let applied = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const patch = maybeMutate(build(2, pick([0, 1, 2, 4, 9, 20]), chance(0.25) ? 1 : 0));
      const record = pick([
        () => maybeMutate(build(0, pick([0, 1, 5, 9, 26, 40]))),
        () => build(0, pick([0, 3, 30])),
        () => null,
        () => forward(),
        () => Buffer.from('{"cookie":{},"legacy":true}'),
        () => Buffer.from('680100000000000000000000000000000000000000000000', 'hex'),
        () => patch,
      ])();
      if (checkApply(record, patch) !== null) applied++;
    }
    assert.ok(applied > ROUNDS / 8, `only ${applied} of ${ROUNDS} patches applied`);
  });

  it('apply: keys the patch names leave the record, written ones move to the end (shared keys forced)', () => {
    for (let i = 0; i < ROUNDS / 4; i++) {
      const record = build(0, 12);
      const v = modelScan(record);
      // A patch that sets and deletes keys the record has.
      const parts = [];
      for (const e of entriesOf(record, v)) if (chance(0.3)) parts.push(entryBytes(Buffer.from(e.key, 'latin1'), chance(0.5) ? null : randomValue()));
      const head = Buffer.concat([Buffer.from([0x68, 2, 2, 0]), u64(5), u64(6), u32(7), u32(parts.length)]);
      const patch = Buffer.concat([head, ...parts]);
      checkApply(record, patch);
    }
  });

  it('merge: valid and damaged pairs, and merge is exact', () => {
    let merged = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const p1 = maybeMutate(build(2, pick([0, 1, 3, 9, 20]), chance(0.2) ? 1 : 0));
      const p2 = chance(0.1) ? pick([build(0, 3), forward(), p1]) : maybeMutate(build(2, pick([0, 1, 3, 9, 20]), chance(0.2) ? 1 : 0));
      const m = checkMerge(p1, p2);
      if (m === null) continue;
      merged++;
      const record = chance(0.7) ? build(0, pick([0, 4, 12])) : pick([null, forward(), Buffer.from('{}')]);
      const seq = checkApply(checkApply(record, p1), p2);
      const once = checkApply(record, m);
      assert.equal(show(once), show(seq), `apply(r, merge(p1, p2)) != apply(apply(r, p1), p2) (seed ${SEED})`);
    }
    assert.ok(merged > ROUNDS / 4, `only ${merged} of ${ROUNDS} pairs merged`);
  });

  it('many keys: hash tables, crafted FNV collisions, duplicates at the far end', () => {
    const many = Array.from({ length: 3000 }, (_, i) => `key-${i}-${'é'.repeat(i % 3)}`);
    checkScan(recordOfKeys(many));
    assert.equal(checkScan(recordOfKeys([...many, 'key-1500-'])), null);
    assert.equal(checkScan(recordOfKeys([...many, 'key-0-'])), null);
    // Keys that pile up in record.ts's table until its probe budget gives the
    // decision to a Set: same answers, distinct or not.
    const colliding = fnvCollisions(60);
    assert.notEqual(checkScan(recordOfKeys(colliding)), null);
    assert.equal(checkScan(recordOfKeys([...colliding, colliding[31]])), null);
    const patchOf = (keys) => Buffer.concat([Buffer.from([0x68, 2, 2, 0]), u64(1), u64(1), u32(1), u32(keys.length),
      ...keys.map((k) => entryBytes(Buffer.from(k), Buffer.from([1])))]);
    checkApply(recordOfKeys(many.slice(0, 500)), patchOf([...colliding, ...many.slice(100, 140)]));
    checkMerge(patchOf(many.slice(0, 300)), patchOf(many.slice(200, 400)));
  });

  it('huge counts and lengths are refused without allocating for them', () => {
    const rec = build(0, 3);
    for (const count of [0xffffffff, 0x10000000, 1e6]) {
      const b = Buffer.from(rec);
      b.writeUInt32BE(count, 24);
      assert.equal(checkScan(b), null);
      checkApply(b, build(2, 1));
    }
    const hugeValue = Buffer.concat([Buffer.from([0x68, 2, 0, 0]), u64(0), u64(0), u32(0), u32(1), Buffer.from('0001610fffffff', 'hex'), Buffer.alloc(16)]);
    assert.equal(checkScan(hugeValue), null);
  });

  it('large records: the native scratch grows past 16 KiB and shrinks back after 1 MiB', () => {
    for (const size of [20_000, 300_000, 1_500_000, 20_000]) {
      const parts = [entryBytes(Buffer.from('big'), Buffer.alloc(size, 7)), entryBytes(Buffer.from('small'), Buffer.from([1]))];
      const record = Buffer.concat([Buffer.from([0x68, 2, 0, 0]), u64(0), u64(0), u32(0), u32(2), ...parts]);
      const patch = Buffer.concat([Buffer.from([0x68, 2, 2, 0]), u64(9), u64(0), u32(0), u32(1), entryBytes(Buffer.from('small'), Buffer.from([2]))]);
      const out = checkApply(record, patch);
      assert.equal(out.length, record.length);
      const clear = Buffer.from(patch);
      clear[3] = 1;
      checkMerge(Buffer.concat([patch.subarray(0, 24), u32(1), parts[0]]), patch);
      checkApply(record, clear);
    }
  });
});
