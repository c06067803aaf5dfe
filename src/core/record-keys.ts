import { DELETE, MAX_KEY_BYTES } from '../codec/layout';
import { INVALID, decodeValue } from '../codec/msgpack';
import { findKey, keyAt, type RecordView } from '../codec/record';
import { codes, HotsessionError } from '../errors';

/**
 * Reading a scanned v2 record from the core: key lookups without
 * allocating, entries as bytes, and the one rule for which top-level keys a
 * session may store.
 */

/**
 * Index of the entry whose key is `key`, else -1. ASCII keys (nearly all)
 * are compared with the record's bytes in place; others go through the
 * codec's UTF-8 lookup, which allocates.
 */
export function findEntry(b: Uint8Array, v: RecordView, key: string): number {
  const n = key.length;
  for (let c = 0; c < n; c++) if (key.charCodeAt(c) > 0x7f) return findKey(b, v, key);
  const ix = v.index;
  const count = v.count;
  outer: for (let i = 0; i < count; i++) {
    if (ix[4 * i + 1] !== n) continue;
    const at = ix[4 * i]!;
    for (let c = 0; c < n; c++) if (b[at + c] !== key.charCodeAt(c)) continue outer;
    return i;
  }
  return -1;
}

/** The decoded value of entry `i`, or INVALID when it is not well formed. */
export function valueAt(b: Uint8Array, v: RecordView, i: number): unknown {
  const at = v.index[4 * i + 2]!;
  return decodeValue(b, at, at + v.index[4 * i + 3]!);
}

/** Bytes entry `i` takes in a record (length fields included). */
export function entryBytes(v: RecordView, i: number): number {
  const len = v.index[4 * i + 3]!;
  return 6 + v.index[4 * i + 1]! + (len === DELETE ? 0 : len);
}

/** The value bytes of entry `i` (a view, not a copy). */
export function valueBytes(b: Uint8Array, v: RecordView, i: number): Uint8Array {
  const at = v.index[4 * i + 2]!;
  return b.subarray(at, at + v.index[4 * i + 3]!);
}

/** Every readable entry of a RECORD as a plain object (a value that does not decode is left out). */
export function recordObject(b: Uint8Array, v: RecordView): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < v.count; i++) {
    const value = valueAt(b, v, i);
    // Keys are never __proto__/constructor/prototype (the scan refuses them), so plain assignment is safe.
    if (value !== INVALID) out[keyAt(b, v, i)] = value;
  }
  return out;
}

/** True for the keys no record may hold (they would reach an object's prototype machinery). */
export function isForbiddenKey(key: string): boolean {
  return key === '__proto__' || key === 'constructor' || key === 'prototype';
}

/**
 * Why no store could keep `key` as a top-level key, or null when one can:
 * `__proto__`, `constructor`, `prototype` (a reader would drop the record),
 * a string that is not well-formed UTF-16 (it would not survive UTF-8), or
 * one longer than a record's 65,535-byte key field.
 */
export function keyProblem(key: string): string | null {
  if (isForbiddenKey(key)) return 'is reserved: no store keeps a top-level __proto__, constructor or prototype key';
  if (!(key as string & { isWellFormed(): boolean }).isWellFormed()) return 'is not well-formed UTF-16 (a lone surrogate)';
  // At most 3 UTF-8 bytes per UTF-16 unit: only long keys need counting.
  if (key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  return null;
}

/** Throws the coded error (HOTSESSION_ERR_ENCODE, naming the key) a commit gives for a key no store could keep. */
export function checkKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== null) {
    const shown = key.length > 64 ? JSON.stringify(key.slice(0, 64)) + '…' : JSON.stringify(key);
    throw new HotsessionError(codes.ENCODE, `session key ${shown} ${problem}`);
  }
}
