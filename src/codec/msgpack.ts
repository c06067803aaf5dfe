import { Packr } from 'msgpackr';
import { codes, HotsessionError } from '../errors';

/**
 * The one msgpack configuration every record body uses. Records are plain
 * data: no record structures (their shared-structure state would make a
 * record depend on what was encoded before it), BigInts as an extension.
 *
 * What survives a round trip: plain objects, arrays, strings, numbers,
 * booleans, null, `undefined` (as a value and inside arrays), Dates, Sets,
 * Buffers (as Buffers), typed arrays, ArrayBuffers, DataViews, BigInts, RegExps and Errors (name,
 * message, cause). What does not: a Map comes back as a plain object with
 * string keys; class instances come back as plain objects (own enumerable
 * fields only, no prototype); functions and symbols are dropped or refused;
 * cycles are refused at encode time.
 */
const packr = new Packr({ useRecords: false, moreTypes: true, useBigIntExtension: true, mapsAsObjects: true });

/** Deepest nesting of arrays, maps and container extensions a body may have. */
export const MAX_DEPTH = 64;

/**
 * Deepest nesting of one value of a per-key record: one less than a body's,
 * so a session as a whole nests at most MAX_DEPTH deep in every store
 * (the cookie store seals the whole map as one body).
 */
export const MAX_VALUE_DEPTH = MAX_DEPTH - 1;

/** What {@link decodeValue} returns for a value that is not well formed. */
export const INVALID: unique symbol = Symbol('hotsession.invalid');

/** Encodes session data; a value msgpack cannot carry is a coded error. */
export function encodeData(data: Record<string, unknown>): Buffer {
  try {
    return packr.pack(data);
  } catch (err) {
    throw new HotsessionError(codes.ENCODE, `session data cannot be encoded: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Encodes one value of a per-key record. The result is checked as a reader
 * will check it, so a value the next load would discard (a nested own
 * `__proto__` / `constructor` / `prototype` key, nesting deeper than
 * {@link MAX_VALUE_DEPTH}) is refused now, naming `key`, instead of being
 * acknowledged and then lost. The returned bytes may share msgpackr's
 * buffer: copy them before the next encode.
 */
export function encodeValue(key: string, value: unknown): Buffer {
  let out: Buffer;
  try {
    out = packr.pack(value);
  } catch (err) {
    throw new HotsessionError(codes.ENCODE, `session key ${JSON.stringify(key)} cannot be encoded: ${(err as Error).message}`, { cause: err });
  }
  if (!isWellFormed(out, 0, out.length, MAX_VALUE_DEPTH)) {
    throw new HotsessionError(codes.ENCODE, `session key ${JSON.stringify(key)} holds a value no store would read back (a nested __proto__, constructor or prototype key, or nesting deeper than ${MAX_VALUE_DEPTH})`);
  }
  return out;
}

/**
 * Decodes the one msgpack value at `b[start, end)`, or {@link INVALID} when
 * it is not well formed (see {@link isWellFormed}) or msgpackr refuses it.
 */
export function decodeValue(b: Uint8Array, start: number, end: number): unknown {
  if (!isWellFormed(b, start, end, MAX_VALUE_DEPTH)) return INVALID;
  try {
    return packr.unpack(b, { start, end } as never);
  } catch {
    return INVALID;
  }
}

/**
 * Decodes a record body. Untrusted: a body that is not well formed (see
 * {@link isWellFormed}), anything but a plain object at the top, or a body
 * msgpackr refuses gives null, which the caller treats as no session.
 */
export function decodeData(body: Uint8Array): Record<string, unknown> | null {
  // msgpackr is a fast decoder, not a validator: its extension table is
  // process-global (any addExtension() anywhere changes what it accepts), it
  // renames `__proto__` silently and it recurses without a limit. Every byte
  // is checked here first, iteratively, so nothing reaches it that we did not
  // mean to accept.
  if (!isWellFormed(body)) return null;
  try {
    const value: unknown = packr.unpack(body);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return null;
    return value as Record<string, unknown>;
  } catch {
    return null;
  }
}

// Extension types a body may carry: exactly those this module's encoder writes.
/** Timestamp (Date), msgpack's own type -1. */
const EXT_DATE = 0xff;
/** `undefined` (msgpackr writes it as fixext 1 of type 0). */
const EXT_UNDEFINED = 0x00;
const EXT_BIGINT = 0x42;
/** Typed arrays and ArrayBuffers: first data byte is the array kind. */
const EXT_TYPED = 0x74;
// These three are markers followed by one array that holds their contents.
const EXT_SET = 0x73;
const EXT_ERROR = 0x65;
const EXT_REGEXP = 0x78;
/** Kinds of EXT_TYPED msgpackr maps to a constructor: 0..10 typed arrays, 16 ArrayBuffer, 17 DataView. */
const TYPED_KINDS = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17]);

const ROOT = 0;
const ARRAY = 1;
const MAP = 2;
/** The value after a container extension (Set, Error, RegExp): must be an array. */
const WRAPPED = 3;

/** Keys that would reach an object's prototype machinery; refused anywhere in a body. */
function isForbiddenKey(b: Uint8Array, at: number, len: number): boolean {
  // '__proto__' and 'prototype' are 9 bytes, 'constructor' 11.
  if (len === 9) return same(b, at, '__proto__') || same(b, at, 'prototype');
  return len === 11 && same(b, at, 'constructor');
}

function same(b: Uint8Array, at: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

// Scratch stacks for isWellFormed: at most MAX_DEPTH + 1 levels, reused.
const kinds = new Uint8Array(MAX_DEPTH + 1);
const lefts = new Float64Array(MAX_DEPTH + 1);

/**
 * True when `b[start, end)` holds exactly one msgpack value (no trailing bytes) that
 * hotsession's decoder may see: nesting at most `maxDepth` deep, no map
 * key other than a string or number, no `__proto__` / `constructor` /
 * `prototype` key, no extension type the encoder does not write (msgpackr's
 * record definitions, structured-clone references and bundled strings
 * included), no length larger than the bytes left. One pass, no recursion,
 * no allocation.
 */
export function isWellFormed(b: Uint8Array, start = 0, end = b.length, maxDepth = MAX_DEPTH): boolean {
  let pos = start;
  let sp = 0;
  kinds[0] = ROOT;
  lefts[0] = 1;
  for (;;) {
    if (lefts[sp] === 0) {
      if (sp === 0) return pos === end;
      sp--;
      continue;
    }
    const kind = kinds[sp]!;
    const left = --lefts[sp]!;
    if (pos >= end) return false;
    const t = b[pos++]!;
    // A map holds 2n items, key first: after the decrement an odd count means a key.
    if (kind === MAP && (left & 1) === 1) {
      let len = -1;
      if (t >= 0xa0 && t <= 0xbf) len = t & 0x1f;
      else if (t === 0xd9) { if (pos + 1 > end) return false; len = b[pos]!; pos += 1; }
      else if (t === 0xda) { if (pos + 2 > end) return false; len = (b[pos]! << 8) | b[pos + 1]!; pos += 2; }
      else if (t === 0xdb) { if (pos + 4 > end) return false; len = u32(b, pos); pos += 4; }
      if (len >= 0) {
        if (pos + len > end || isForbiddenKey(b, pos, len)) return false;
        pos += len;
        continue;
      }
      // Numbers are the only other keys (a Map's integer keys): fall through to the scalar cases.
      if (!(t <= 0x7f || t >= 0xe0 || (t >= 0xca && t <= 0xd3))) return false;
    } else if (kind === WRAPPED && !(t >= 0x90 && t <= 0x9f) && t !== 0xdc && t !== 0xdd) {
      return false;
    }
    if (t <= 0x7f || t >= 0xe0) continue; // fixints
    if (t <= 0x8f || (t >= 0x90 && t <= 0x9f) || t === 0xdc || t === 0xdd || t === 0xde || t === 0xdf) {
      let n: number;
      if (t <= 0x8f) n = t & 0x0f;
      else if (t <= 0x9f) n = t & 0x0f;
      else if (t === 0xdc || t === 0xde) { if (pos + 2 > end) return false; n = (b[pos]! << 8) | b[pos + 1]!; pos += 2; }
      else { if (pos + 4 > end) return false; n = u32(b, pos); pos += 4; }
      const isMap = t <= 0x8f || t === 0xde || t === 0xdf;
      const items = isMap ? n * 2 : n;
      // Every item takes at least one byte: a larger count is a lie meant to make the decoder preallocate.
      if (items > end - pos || sp === maxDepth) return false;
      sp++;
      kinds[sp] = isMap ? MAP : ARRAY;
      lefts[sp] = items;
      continue;
    }
    if (t <= 0xbf) { // fixstr
      pos += t & 0x1f;
      if (pos > end) return false;
      continue;
    }
    let len: number;
    let ext = -1;
    switch (t) {
      case 0xc0: case 0xc2: case 0xc3: continue;
      case 0xcc: case 0xd0: pos += 1; if (pos > end) return false; continue;
      case 0xcd: case 0xd1: pos += 2; if (pos > end) return false; continue;
      case 0xca: case 0xce: case 0xd2: pos += 4; if (pos > end) return false; continue;
      case 0xcb: case 0xcf: case 0xd3: pos += 8; if (pos > end) return false; continue;
      case 0xc4: case 0xd9: if (pos + 1 > end) return false; len = b[pos]!; pos += 1; break;
      case 0xc5: case 0xda: if (pos + 2 > end) return false; len = (b[pos]! << 8) | b[pos + 1]!; pos += 2; break;
      case 0xc6: case 0xdb: if (pos + 4 > end) return false; len = u32(b, pos); pos += 4; break;
      case 0xd4: len = 1; ext = 1; break;
      case 0xd5: len = 2; ext = 1; break;
      case 0xd6: len = 4; ext = 1; break;
      case 0xd7: len = 8; ext = 1; break;
      case 0xd8: len = 16; ext = 1; break;
      case 0xc7: if (pos + 1 > end) return false; len = b[pos]!; pos += 1; ext = 1; break;
      case 0xc8: if (pos + 2 > end) return false; len = (b[pos]! << 8) | b[pos + 1]!; pos += 2; ext = 1; break;
      case 0xc9: if (pos + 4 > end) return false; len = u32(b, pos); pos += 4; ext = 1; break;
      default: return false; // 0xc1 (never used; msgpackr gives it a private meaning)
    }
    if (ext === -1) {
      pos += len;
      if (pos > end) return false;
      continue;
    }
    if (pos + 1 + len > end) return false;
    const type = b[pos]!;
    const data = pos + 1;
    pos = data + len;
    switch (type) {
      case EXT_DATE:
        if (len !== 4 && len !== 8 && len !== 12) return false;
        continue;
      case EXT_UNDEFINED:
        if (t !== 0xd4) return false;
        continue;
      case EXT_BIGINT:
        if (len === 0) return false;
        continue;
      case EXT_TYPED:
        if (len === 0 || !TYPED_KINDS.has(b[data]!)) return false;
        continue;
      case EXT_SET: case EXT_ERROR: case EXT_REGEXP:
        // msgpackr writes these as fixext 1 with a filler byte, then the contents.
        if (t !== 0xd4 || sp === maxDepth) return false;
        sp++;
        kinds[sp] = WRAPPED;
        lefts[sp] = 1;
        continue;
      default:
        return false;
    }
  }
}

function u32(b: Uint8Array, at: number): number {
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}
