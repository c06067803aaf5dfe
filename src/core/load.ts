import { codec } from '../codec';
import { FRAME_MAGIC, KIND_RECORD, RECORD_HEADER, RECORD_VERSION } from '../codec/layout';
import type { DecodedRecord } from '../stores/types';
import type { Entries } from './entries';
import { isForbiddenKey } from './record-keys';

/**
 * What a store handed back, read into a session's entries: a v2 RECORD
 * (scanned, values left encoded), a v1 frame (its body decoded on first
 * use), or a record the store decoded itself (legacy formats).
 */

/** Past its hard expiry, or past `limit` (absoluteTimeout) since its creation. */
function expired(expiresAt: number, createdAt: number, now: number, limit: number | undefined): boolean {
  return (expiresAt !== 0 && expiresAt <= now) || (limit !== undefined && createdAt + limit <= now);
}

/** A store's data without keys no record may hold (a legacy reader may keep them as own keys). */
function storable(data: Record<string, unknown>): Record<string, unknown> {
  if (!Object.hasOwn(data, '__proto__') && !Object.hasOwn(data, 'constructor') && !Object.hasOwn(data, 'prototype')) return data;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(data)) if (!isForbiddenKey(k)) out[k] = data[k];
  return out;
}

/**
 * Loads `record` into `e` and returns the session's creation time, or -1
 * when it is no live session for a cookie of name tag `tag`: malformed, a
 * FORWARD marker (the id moved on: never a credential for where it went), a
 * v2 record written for another session name, or expired (`e` is then left
 * empty).
 */
export function readRecord(e: Entries, record: Uint8Array | DecodedRecord, tag: number, now: number, limit: number | undefined): number {
  if (record instanceof Uint8Array) {
    if (record.length >= RECORD_HEADER && record[1] === RECORD_VERSION && record[0] === FRAME_MAGIC) {
      const view = codec.scan(record);
      if (view === null || view.kind !== KIND_RECORD || view.nameTag !== tag || expired(view.expiresAt, view.createdAt, now, limit)) return -1;
      e.loadRecord(record, view);
      return view.createdAt;
    }
    // A v1 frame (no name tag): read as before, rewritten as v2 at the next save.
    const frame = codec.unframe(record);
    if (frame === null || expired(frame.expiresAt, frame.createdAt, now, limit)) return -1;
    e.loadBody(frame.body);
    return frame.createdAt;
  }
  const data = record.data;
  if (data === null || typeof data !== 'object' || expired(record.expiresAt, record.createdAt, now, limit)) return -1;
  e.loadObject(storable(data), true);
  return record.createdAt;
}
