// Records and patches for the SharedMemoryStore tests, built with the v2
// reference writer (src/codec/record.ts) and read back with the active codec.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const record = require('../../dist/codec/record.js');
const L = require('../../dist/codec/layout.js');
const { codec } = require('../../dist/codec/index.js');
const { pack, unpack } = require('msgpackr');

export { codec, record, L };

export const TAG = record.nameTag('sid');
const w = new record.RecordWriter();

/** A v2 RECORD holding `obj`'s keys. */
export function rec(obj, expiresAt = 0, createdAt = 1_000) {
  w.begin(L.KIND_RECORD, 0, expiresAt, createdAt, TAG);
  for (const [k, v] of Object.entries(obj)) w.set(k, pack(v));
  return w.finish();
}

/** A PATCH setting `set`'s keys and deleting `del`. */
export function patch(set, del = [], { clear = false, expiresAt = 0, createdAt = 1_000 } = {}) {
  w.begin(L.KIND_PATCH, clear ? L.FLAG_CLEAR : 0, expiresAt, createdAt, TAG);
  for (const [k, v] of Object.entries(set)) w.set(k, pack(v));
  for (const k of del) w.delete(k);
  return w.finish();
}

/** A FORWARD marker to `target`. */
export function marker(target) {
  return record.forwardMarker(target, 0, 1_000, TAG);
}

/** The keys of a v2 RECORD as an object; throws when it is not a well-formed RECORD. */
export function decode(buf) {
  const v = codec.scan(buf);
  if (v === null || v.kind !== L.KIND_RECORD) throw new Error(`not a v2 RECORD (${v === null ? 'malformed' : `kind ${v.kind}`})`);
  const out = {};
  for (let i = 0; i < v.count; i++) {
    const at = v.index[4 * i + 2];
    out[record.keyAt(buf, v, i)] = unpack(buf.subarray(at, at + v.index[4 * i + 3]));
  }
  return out;
}

/** The kind of a v2 buffer (L.KIND_*), or null. */
export function kindOf(buf) {
  return codec.scan(buf)?.kind ?? null;
}

/**
 * A value whose every character depends on `n`: a torn or mixed-up value
 * fails checkValue. Lengths vary so blocks of many sizes cycle through the logs.
 */
export function valueFor(n) {
  const c = 'abcdefghijklmnopqrstuvwxyz'[n % 26];
  return `${n}:${c.repeat(n % 97)}`;
}

/** The n a value from valueFor carries; throws when the value is not one. */
export function checkValue(v) {
  if (typeof v !== 'string') throw new Error(`value ${JSON.stringify(v)} is not a string`);
  const colon = v.indexOf(':');
  const n = Number(v.slice(0, colon));
  if (!Number.isInteger(n) || v !== valueFor(n)) throw new Error(`torn value ${JSON.stringify(v.slice(0, 60))}`);
  return n;
}
