import { createHash } from 'node:crypto';
import {
  DELETE, FLAG_CLEAR, FRAME_MAGIC, KIND_FORWARD, KIND_PATCH, KIND_RECORD, MAX_KEY_BYTES, MAX_TIME,
  NAME_TAG_LABEL, RECORD_HEADER, RECORD_VERSION,
} from './layout';
import { indexPool, reserveIndex, takeIndex } from './record-index';
import { hasDuplicate, isForbidden, isUtf8, sameBytes } from './record-keys';

/**
 * The per-key record (v2) in JS: the reference every other implementation
 * (the native addon, the Redis script, the memory stores) must match byte for
 * byte. The layout and the apply/merge rules are in layout.ts.
 */

/** A scanned v2 buffer: its header and where each entry lies. No value is decoded. */
export interface RecordView {
  kind: number;
  flags: number;
  expiresAt: number;
  createdAt: number;
  nameTag: number;
  count: number;
  /**
   * 4 per entry: keyStart, keyLen, valueStart, valueLen (DELETE in patches for
   * a deletion). A view into a shared 32 KiB slab, as a small Buffer is a view
   * into Node's pool: `index.slice()` before keeping a view for long.
   */
  index: Uint32Array;
  /** FORWARD only: the id the session moved to. */
  target: string | null;
}

/** The 32-bit tag binding records to the session name `name` (see layout.ts). */
export function nameTag(name: string): number {
  return createHash('sha256').update(NAME_TAG_LABEL).update(name, 'utf8').digest().readUInt32BE(0);
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function u32(b: Uint8Array, at: number): number {
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** u64 big-endian as a number, or -1 past 2^53 - 1. */
function time(b: Uint8Array, at: number): number {
  const hi = u32(b, at);
  return hi > 0x1fffff ? -1 : hi * 0x100000000 + u32(b, at + 4);
}

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

function putTime(b: Uint8Array, at: number, t: number): void {
  putU32(b, at, Math.floor(t / 0x100000000));
  putU32(b, at + 4, t >>> 0);
}

function checkTime(t: number, what: string): void {
  if (!Number.isInteger(t) || t < 0 || t > MAX_TIME) throw new RangeError(`${what} must be an integer ms timestamp in [0, 2^53)`);
}

/**
 * The view of a buffer a scanner (this file's or the addon's) accepted as
 * `kind`, whose index it wrote at `indexPool.at`. One object shape for every kind.
 */
export function viewOf(b: Uint8Array, kind: number, count: number): RecordView {
  const target = kind === KIND_FORWARD
    ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1', RECORD_HEADER, b.length)
    : null;
  return {
    kind, flags: b[3]!, expiresAt: time(b, 4), createdAt: time(b, 12), nameTag: u32(b, 20),
    count, index: takeIndex(4 * count), target,
  };
}

/**
 * Reads a v2 buffer (record, forward marker or patch) without decoding any
 * value. Null when it breaks any rule of layout.ts: it is then "no session".
 */
export function scanRecord(b: Uint8Array): RecordView | null {
  const end = b.length;
  if (end < RECORD_HEADER || b[0] !== FRAME_MAGIC || b[1] !== RECORD_VERSION) return null;
  const kind = b[2]!;
  const flags = b[3]!;
  if (kind === KIND_PATCH ? (flags & ~FLAG_CLEAR) !== 0 : flags !== 0 || kind > KIND_PATCH) return null;
  const expiresAt = time(b, 4);
  const createdAt = time(b, 12);
  if (expiresAt < 0 || createdAt < 0) return null;
  const count = u32(b, 24);
  if (kind === KIND_FORWARD) {
    const len = end - RECORD_HEADER;
    if (count !== 0 || len < 1 || len > 255) return null;
    for (let i = RECORD_HEADER; i < end; i++) if (b[i]! < 0x21 || b[i]! > 0x7e) return null;
    return viewOf(b, kind, 0);
  }
  // Every entry takes at least 6 bytes: a larger count is a lie.
  if (count > (end - RECORD_HEADER) / 6) return null;
  reserveIndex(4 * count);
  const index = indexPool.slab;
  const base = indexPool.at;
  let pos = RECORD_HEADER;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > end) return null;
    const klen = u16(b, pos);
    const kat = pos + 2;
    if (kat + klen + 4 > end || isForbidden(b, kat, klen) || !isUtf8(b, kat, kat + klen)) return null;
    const vlen = u32(b, kat + klen);
    const vat = kat + klen + 4;
    if (vlen === DELETE) {
      if (kind !== KIND_PATCH) return null;
      pos = vat;
    } else {
      if (vat + vlen > end) return null;
      pos = vat + vlen;
    }
    const e = base + 4 * i;
    index[e] = kat;
    index[e + 1] = klen;
    index[e + 2] = vat;
    index[e + 3] = vlen;
  }
  if (pos !== end || hasDuplicate(b, index, base, count)) return null;
  return viewOf(b, kind, count);
}

/** Entry `i` of a scanned buffer whose key equals `key` (UTF-8 bytes at `kb[kat, kat+klen)`), else -1. */
function findBytes(b: Uint8Array, v: RecordView, kb: Uint8Array, kat: number, klen: number): number {
  const ix = v.index;
  for (let i = 0; i < v.count; i++) {
    if (ix[4 * i + 1] === klen && sameBytes(b, ix[4 * i]!, kb, kat, klen)) return i;
  }
  return -1;
}

/** True when every UTF-16 unit of `s` is ASCII (then its UTF-8 bytes are its char codes). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Index of the entry whose key is `key`, else -1. */
export function findKey(b: Uint8Array, v: RecordView, key: string): number {
  // ASCII keys compare their char codes with the bytes: no UTF-8 copy of the
  // key per lookup (about 3x faster at 26 keys). A native findKey measured
  // slower still than the copy: the call and the string's UTF-8 conversion
  // cost more than this loop.
  if (!isAscii(key)) {
    const kb = Buffer.from(key, 'utf8');
    return findBytes(b, v, kb, 0, kb.length);
  }
  const ix = v.index;
  const n = key.length;
  next: for (let i = 0; i < v.count; i++) {
    if (ix[4 * i + 1] !== n) continue;
    const at = ix[4 * i]!;
    for (let k = 0; k < n; k++) if (b[at + k] !== key.charCodeAt(k)) continue next;
    return i;
  }
  return -1;
}

/** The key of entry `i` as a string. */
export function keyAt(b: Uint8Array, v: RecordView, i: number): string {
  const at = v.index[4 * i]!;
  const end = at + v.index[4 * i + 1]!;
  // Short ASCII keys (nearly all) are built in place; the rest go through
  // Buffer's UTF-8 decoder, called on the bytes without wrapping them in a
  // Buffer first (the wrapper cost more than the decoding: bench/express-layer.mjs /read).
  if (end - at <= 12) {
    let s = '';
    for (let k = at; k < end; k++) {
      const c = b[k]!;
      if (c > 0x7f) return utf8Slice.call(b, at, end);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8Slice.call(b, at, end);
}

/** Buffer's UTF-8 decoder (WHATWG replacement of bad bytes, as `toString('utf8')`), usable on any Uint8Array. */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice: (this: Uint8Array, start: number, end: number) => string }).utf8Slice;

/** Bytes entry `i` occupies (key and value with their length fields). */
function entrySize(v: RecordView, i: number): number {
  const vlen = v.index[4 * i + 3]!;
  return 6 + v.index[4 * i + 1]! + (vlen === DELETE ? 0 : vlen);
}

function writeHeader(out: Uint8Array, kind: number, flags: number, src: Uint8Array, count: number): void {
  out[0] = FRAME_MAGIC;
  out[1] = RECORD_VERSION;
  out[2] = kind;
  out[3] = flags;
  // expiresAt, createdAt and nameTag come from the later buffer (the patch).
  out.set(src.subarray(4, 24), 4);
  putU32(out, 24, count);
}

// Marks of the entries combine() keeps, reused (grown on demand).
let keepA = new Uint8Array(64);
let keepB = new Uint8Array(64);

/** Copies entries `i` of `src` with `marks[i] === 1` to `out` at `at`, adjacent ones as one run. */
function copyMarked(out: Uint8Array, at: number, src: Uint8Array, v: RecordView, marks: Uint8Array): number {
  const ix = v.index;
  let start = 0;
  let end = 0;
  for (let i = 0; i < v.count; i++) {
    if (marks[i] !== 1) continue;
    const s = ix[4 * i]! - 2;
    if (s !== end) {
      if (end > start) {
        out.set(src.subarray(start, end), at);
        at += end - start;
      }
      start = s;
    }
    end = s + entrySize(v, i);
  }
  if (end > start) {
    out.set(src.subarray(start, end), at);
    at += end - start;
  }
  return at;
}

/**
 * Marks in `keepA` the entries of `a` whose key `b` does not name. Linear
 * search per key while `b` is small (a commit's patch); a Set of `b`'s keys
 * past that, so a large patch against a large record is not quadratic.
 */
function markUnnamed(a: Uint8Array, av: RecordView, b: Uint8Array, bv: RecordView): void {
  const ai = av.index;
  if (bv.count <= 16) {
    for (let i = 0; i < av.count; i++) keepA[i] = findBytes(b, bv, a, ai[4 * i]!, ai[4 * i + 1]!) === -1 ? 1 : 0;
    return;
  }
  const bb = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const named = new Set<string>();
  for (let j = 0; j < bv.count; j++) {
    const at = bv.index[4 * j]!;
    named.add(bb.toString('latin1', at, at + bv.index[4 * j + 1]!));
  }
  const ab = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  for (let i = 0; i < av.count; i++) {
    const at = ai[4 * i]!;
    keepA[i] = named.has(ab.toString('latin1', at, at + ai[4 * i + 1]!)) ? 0 : 1;
  }
}

/**
 * The entries of `a` whose key `b` does not name (in order), then `b`'s
 * entries: the one rule behind apply and merge (layout.ts). `dropDeletes`
 * leaves `b`'s DELETE entries out (apply) instead of keeping them (merge).
 */
function combine(
  a: Uint8Array | null, av: RecordView | null, b: Uint8Array, bv: RecordView,
  kind: number, flags: number, dropDeletes: boolean,
): Buffer {
  const an = av === null ? 0 : av.count;
  if (keepA.length < an) keepA = new Uint8Array(an);
  if (keepB.length < bv.count) keepB = new Uint8Array(bv.count);
  let size = RECORD_HEADER;
  let count = 0;
  if (a !== null && av !== null) {
    markUnnamed(a, av, b, bv);
    for (let i = 0; i < an; i++) {
      if (keepA[i] === 1) {
        size += entrySize(av, i);
        count++;
      }
    }
  }
  const bi = bv.index;
  for (let j = 0; j < bv.count; j++) {
    const keep = !(dropDeletes && bi[4 * j + 3] === DELETE);
    keepB[j] = keep ? 1 : 0;
    if (keep) {
      size += entrySize(bv, j);
      count++;
    }
  }
  const out = Buffer.allocUnsafe(size);
  writeHeader(out, kind, flags, b, count);
  let at = RECORD_HEADER;
  if (a !== null && av !== null) at = copyMarked(out, at, a, av, keepA);
  copyMarked(out, at, b, bv, keepB);
  if (keepA.length > 1 << 16) keepA = new Uint8Array(64);
  if (keepB.length > 1 << 16) keepB = new Uint8Array(64);
  return out;
}

/**
 * The record after `patch` (see layout.ts). Null when the patch is malformed,
 * or has no CLEAR and `record` is not a v2 RECORD (the caller resends the
 * session whole, as a CLEAR patch).
 *
 * The result is exactly sized and comes from Buffer.allocUnsafe, as in the
 * native codec: under 4 KiB a slice of Node's shared 8 KiB pool, which it
 * keeps alive. A store that keeps records for long should copy them into a
 * buffer of their own (Buffer.allocUnsafeSlow, ~2x the cost of a pooled one
 * at 2 KB: bench/record-codec.mjs, "2 KB result buffer").
 */
export function applyPatch(record: Uint8Array | null, patch: Uint8Array): Buffer | null {
  const pv = scanRecord(patch);
  if (pv === null || pv.kind !== KIND_PATCH) return null;
  if ((pv.flags & FLAG_CLEAR) !== 0) return combine(null, null, patch, pv, KIND_RECORD, 0, true);
  const rv = record === null ? null : scanRecord(record);
  if (rv === null || rv.kind !== KIND_RECORD) return null;
  return combine(record, rv, patch, pv, KIND_RECORD, 0, true);
}

/**
 * One patch with the effect of `p1` then `p2` (see layout.ts). Null when
 * either is malformed. Exactly sized, from Buffer.allocUnsafe (pooled under
 * 4 KiB), in both codecs.
 */
export function mergePatches(p1: Uint8Array, p2: Uint8Array): Buffer | null {
  const v1 = scanRecord(p1);
  const v2 = scanRecord(p2);
  if (v1 === null || v2 === null || v1.kind !== KIND_PATCH || v2.kind !== KIND_PATCH) return null;
  if ((v2.flags & FLAG_CLEAR) !== 0) return Buffer.from(p2);
  return combine(p1, v1, p2, v2, KIND_PATCH, v1.flags, false);
}

/** A FORWARD marker: the session moved to `target` (a valid session id). */
export function forwardMarker(target: string, expiresAt: number, createdAt: number, tag: number): Buffer {
  checkTime(expiresAt, 'expiresAt');
  checkTime(createdAt, 'createdAt');
  if (!/^[\x21-\x7e]{1,255}$/.test(target)) throw new RangeError('a forward target must be 1..255 visible ASCII characters');
  const out = Buffer.allocUnsafe(RECORD_HEADER + target.length);
  out[0] = FRAME_MAGIC;
  out[1] = RECORD_VERSION;
  out[2] = KIND_FORWARD;
  out[3] = 0;
  putTime(out, 4, expiresAt);
  putTime(out, 12, createdAt);
  putU32(out, 20, tag >>> 0);
  putU32(out, 24, 0);
  out.write(target, RECORD_HEADER, 'latin1');
  return out;
}

/**
 * Builds a RECORD or a PATCH entry by entry into a growing scratch buffer;
 * `finish()` returns an exact-size copy. One writer can be reused.
 */
export class RecordWriter {
  #buf: Buffer = Buffer.allocUnsafe(1024);
  #at = RECORD_HEADER;
  #count = 0;
  #kind = KIND_RECORD;

  /** Starts a buffer; `flags` is FLAG_CLEAR or 0 (patches only). */
  begin(kind: number, flags: number, expiresAt: number, createdAt: number, tag: number): this {
    checkTime(expiresAt, 'expiresAt');
    checkTime(createdAt, 'createdAt');
    if (kind !== KIND_RECORD && kind !== KIND_PATCH) throw new RangeError('a writer builds records and patches');
    if (flags !== 0 && (kind !== KIND_PATCH || flags !== FLAG_CLEAR)) throw new RangeError('only a patch may CLEAR');
    this.#kind = kind;
    this.#at = RECORD_HEADER;
    this.#count = 0;
    const b = this.#buf;
    b[0] = FRAME_MAGIC;
    b[1] = RECORD_VERSION;
    b[2] = kind;
    b[3] = flags;
    putTime(b, 4, expiresAt);
    putTime(b, 12, createdAt);
    putU32(b, 20, tag >>> 0);
    return this;
  }

  #room(n: number): Buffer {
    if (this.#at + n > this.#buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + n));
      this.#buf.copy(next, 0, 0, this.#at);
      this.#buf = next;
    }
    return this.#buf;
  }

  #key(key: string, n: number): number {
    // ASCII keys are their own UTF-8: a byte loop instead of Buffer.write's
    // encoder (bench/record-codec.mjs, "writer").
    const ascii = isAscii(key);
    const klen = ascii ? key.length : Buffer.byteLength(key, 'utf8');
    if (klen > MAX_KEY_BYTES) throw new RangeError(`session key of ${klen} bytes is longer than ${MAX_KEY_BYTES}`);
    const b = this.#room(6 + klen + n);
    const at = this.#at + 2;
    b[at - 2] = klen >>> 8;
    b[at - 1] = klen & 0xff;
    if (ascii) for (let i = 0; i < klen; i++) b[at + i] = key.charCodeAt(i);
    else b.write(key, at, klen, 'utf8');
    this.#count++;
    return at + klen;
  }

  /** An entry `key` -> `value` (one encoded msgpack value). */
  set(key: string, value: Uint8Array): this {
    const at = this.#key(key, value.length);
    const b = this.#buf;
    putU32(b, at, value.length);
    b.set(value, at + 4);
    this.#at = at + 4 + value.length;
    return this;
  }

  /** A deletion of `key` (patches only). */
  delete(key: string): this {
    if (this.#kind !== KIND_PATCH) throw new RangeError('only a patch deletes keys');
    const at = this.#key(key, 0);
    putU32(this.#buf, at, DELETE);
    this.#at = at + 4;
    return this;
  }

  /** Entry `i` of a scanned buffer, copied as it is (an unchanged value travels as its bytes). */
  copy(src: Uint8Array, view: RecordView, i: number): this {
    const n = entrySize(view, i);
    const b = this.#room(n);
    const start = view.index[4 * i]! - 2;
    b.set(src.subarray(start, start + n), this.#at);
    this.#at += n;
    this.#count++;
    return this;
  }

  /** Entries written so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * The finished buffer: an exact-size copy (the writer can begin again), a
   * slice of Node's pool under 4 KiB (Buffer.allocUnsafe). A store that keeps
   * records in memory should copy a RECORD into a buffer of its own.
   */
  finish(): Buffer {
    const b = this.#buf;
    const n = this.#at;
    putU32(b, 24, this.#count);
    const out = Buffer.allocUnsafe(n);
    // A patch of one small value is a few dozen bytes: a byte loop beats
    // making a view to copy from (bench/record-codec.mjs, "writer").
    if (n <= 96) for (let i = 0; i < n; i++) out[i] = b[i]!;
    else out.set(b.subarray(0, n));
    return out;
  }
}
