import { FLAG_CLEAR, DELETE, FRAME_MAGIC, KIND_RECORD, MAX_KEY_BYTES, MAX_TIME, RECORD_HEADER, RECORD_VERSION } from '../../codec/layout';
import { keyAt, type RecordView } from '../../codec/record';
import { fieldOf, keyOf } from './fields';

/**
 * The per-key session document (record v2, src/codec/layout.ts, as fields):
 *
 *   { _id: <session id>,
 *     expires: Date,               what the TTL index / sweep / every read and write filter on
 *     hx: <expiresAt>, hc: <createdAt>, ht: <nameTag>,   the record header, as numbers
 *     s: { <field of key>: BinData(<the key's msgpack value>), ... } }
 *
 * so a commit changes one key with `$set: { 's.<field>': ... }` (and
 * `$unset` for a deleted key) on the live document, and never reads or
 * rewrites the others. Field names are the keys escaped (fields.ts).
 * A regenerated session's old id holds `{ _id, expires, fwd: BinData(<FORWARD marker>) }`.
 *
 * Reads assemble the v2 RECORD bytes the core expects from the fields. Its
 * entries come in the document's field order as the driver gives it, which
 * is not apply()'s order (MongoDB keeps a rewritten field in place; and a JS
 * object lists integer-like keys first): a record here equals the one
 * codec.apply would give as a map of key -> value bytes, not byte for byte.
 */

/** The fields of a v2 document besides `_id` and `expires`. */
export interface RecordFields {
  hx: number;
  hc: number;
  ht: number;
  s: Record<string, Buffer>;
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

function view(b: Uint8Array, at: number, len: number): Buffer {
  return Buffer.from(b.buffer, b.byteOffset + at, len);
}

/** The fields of a scanned v2 RECORD (values are views into `record`). */
export function fieldsOf(record: Uint8Array, v: RecordView): RecordFields {
  const s: Record<string, Buffer> = {};
  const ix = v.index;
  for (let i = 0; i < v.count; i++) s[fieldOf(keyAt(record, v, i))] = view(record, ix[4 * i + 2]!, ix[4 * i + 3]!);
  return { hx: v.expiresAt, hc: v.createdAt, ht: v.nameTag, s };
}

/** True when `hx`, `hc`, `ht` hold a header a record can carry. */
function isHeader(hx: unknown, hc: unknown, ht: unknown): boolean {
  const time = (t: unknown): boolean => typeof t === 'number' && Number.isInteger(t) && t >= 0 && t <= MAX_TIME;
  return time(hx) && time(hc) && typeof ht === 'number' && Number.isInteger(ht) && ht >= 0 && ht <= 0xffffffff;
}

/** True when a document's fields can make a v2 RECORD (see assemble), without making it. */
export function isRecordDocument(doc: { hx?: unknown; hc?: unknown; ht?: unknown; s?: unknown }): boolean {
  const s = doc.s;
  return s !== null && typeof s === 'object' && !Array.isArray(s) && isHeader(doc.hx, doc.hc, doc.ht);
}

/**
 * The v2 RECORD a document's fields make, or null when they cannot be one
 * (no `s` object, a header that is not numbers in range). A field no key
 * maps to, a forbidden key or a value that is not binary is left out: it
 * was not written by this store, and the rest of the session still reads.
 */
export function assemble(doc: { hx?: unknown; hc?: unknown; ht?: unknown; s?: unknown }): Buffer | null {
  if (!isRecordDocument(doc)) return null;
  const fields = doc.s as Record<string, unknown>;
  const keys: Buffer[] = [];
  const values: Uint8Array[] = [];
  let size = RECORD_HEADER;
  for (const name of Object.keys(fields)) {
    const key = keyOf(name);
    const value = fields[name];
    if (key === null || FORBIDDEN.has(key) || !(value instanceof Uint8Array)) continue;
    const kb = Buffer.from(key, 'utf8');
    if (kb.length > MAX_KEY_BYTES) continue;
    keys.push(kb);
    values.push(value);
    size += 6 + kb.length + value.length;
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = FRAME_MAGIC;
  out[1] = RECORD_VERSION;
  out[2] = KIND_RECORD;
  out[3] = 0;
  putTime(out, 4, doc.hx as number);
  putTime(out, 12, doc.hc as number);
  out.writeUInt32BE(doc.ht as number, 20);
  out.writeUInt32BE(keys.length, 24);
  let at = RECORD_HEADER;
  for (let i = 0; i < keys.length; i++) {
    const kb = keys[i]!;
    const value = values[i]!;
    out.writeUInt16BE(kb.length, at);
    kb.copy(out, at + 2);
    at += 2 + kb.length;
    out.writeUInt32BE(value.length, at);
    out.set(value, at + 4);
    at += 4 + value.length;
  }
  return out;
}

function putTime(b: Buffer, at: number, t: number): void {
  b.writeUInt32BE(Math.floor(t / 0x100000000), at);
  b.writeUInt32BE(t >>> 0, at + 4);
}

/** Bytes of the record `patch` would leave over a document with fields `s` (null: CLEAR or none), for maxRecordSize. */
export function sizeAfter(s: unknown, patch: Uint8Array, v: RecordView): number {
  const ix = v.index;
  let size = RECORD_HEADER;
  const named = new Set<string>();
  for (let i = 0; i < v.count; i++) {
    named.add(keyAt(patch, v, i));
    if (ix[4 * i + 3] !== DELETE) size += 6 + ix[4 * i + 1]! + ix[4 * i + 3]!;
  }
  if ((v.flags & FLAG_CLEAR) !== 0 || s === null || typeof s !== 'object') return size;
  const fields = s as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    const key = keyOf(name);
    const value = fields[name];
    if (key !== null && !named.has(key) && value instanceof Uint8Array) size += 6 + Buffer.byteLength(key) + value.length;
  }
  return size;
}

/**
 * The update that applies a scanned PATCH to a v2 document: the header and
 * `expires` always, then each key set or unset. A CLEAR patch replaces `s`
 * whole and drops what an older format kept (`record`, connect-mongo's
 * `session`), which is how a v1 or legacy document becomes a v2 one.
 */
export function patchUpdate(patch: Uint8Array, v: RecordView, expires: Date): Record<string, Record<string, unknown>> {
  const ix = v.index;
  const $set: Record<string, unknown> = { expires, hx: v.expiresAt, hc: v.createdAt, ht: v.nameTag };
  if ((v.flags & FLAG_CLEAR) !== 0) {
    const s: Record<string, Buffer> = {};
    for (let i = 0; i < v.count; i++) {
      if (ix[4 * i + 3] !== DELETE) s[fieldOf(keyAt(patch, v, i))] = view(patch, ix[4 * i + 2]!, ix[4 * i + 3]!);
    }
    $set.s = s;
    return { $set, $unset: { record: '', session: '' } };
  }
  let $unset: Record<string, ''> | null = null;
  for (let i = 0; i < v.count; i++) {
    const path = 's.' + fieldOf(keyAt(patch, v, i));
    if (ix[4 * i + 3] === DELETE) ($unset ??= {})[path] = '';
    else $set[path] = view(patch, ix[4 * i + 2]!, ix[4 * i + 3]!);
  }
  return $unset === null ? { $set } : { $set, $unset };
}

/**
 * True when the document shows every effect of a scanned patch (header,
 * expires, each key set to its bytes or absent); when `whole` (a CLEAR patch,
 * or a RECORD that a set wrote) also nothing else in `s` and no older-format
 * field. How a write of an unconfirmed batch is checked.
 */
export function showsPatch(
  doc: { expires?: unknown; hx?: unknown; hc?: unknown; ht?: unknown; s?: unknown; record?: unknown; session?: unknown },
  patch: Uint8Array, v: RecordView, expires: Date, whole: boolean,
): boolean {
  if (!(doc.expires instanceof Date) || doc.expires.getTime() !== expires.getTime()) return false;
  if (doc.hx !== v.expiresAt || doc.hc !== v.createdAt || doc.ht !== v.nameTag) return false;
  const s = doc.s;
  if (s === null || typeof s !== 'object') return false;
  const fields = s as Record<string, unknown>;
  const ix = v.index;
  let sets = 0;
  for (let i = 0; i < v.count; i++) {
    const got = fields[fieldOf(keyAt(patch, v, i))];
    if (ix[4 * i + 3] === DELETE) {
      if (got !== undefined) return false;
      continue;
    }
    sets++;
    if (!(got instanceof Uint8Array) || Buffer.compare(got, view(patch, ix[4 * i + 2]!, ix[4 * i + 3]!)) !== 0) return false;
  }
  return !whole || (Object.keys(fields).length === sets && doc.record === undefined && doc.session === undefined);
}
