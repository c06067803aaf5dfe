import { codec } from '../../codec';
import { KIND_FORWARD } from '../../codec/layout';
import { legacyData } from '../legacy-data';
import type { DecodedRecord } from '../types';
import { assemble, isRecordDocument } from './shape';

/**
 * The documents of a sessions collection. One collection may hold all of
 * these at once during a migration; every read tells them apart by field:
 *
 *   { _id, expires, hx, hc, ht, s: {...} }   a session (record v2, see shape.ts)
 *   { _id, expires, fwd: BinData }           a regenerated session's old id (FORWARD marker)
 *   { _id, expires, record: BinData }        a session written before v2 (a v1 frame)
 *   { _id, expires, session }                connect-mongo's (legacy; JSON text or an object)
 *
 * `expires` is what the TTL index (or the interval sweep) and every read
 * filter on; a record's own header expiry is checked as well, so a record is
 * never trusted past either. The older shapes are read as they are and
 * become v2 documents on their next save (a CLEAR patch).
 */
export interface SessionDocument {
  _id: string;
  expires: Date;
  hx?: unknown;
  hc?: unknown;
  ht?: unknown;
  s?: unknown;
  fwd?: unknown;
  record?: unknown;
  /** connect-mongo's serialized session (legacy documents only). */
  session?: unknown;
}

/**
 * BSON's per-document limit on MongoDB (and FerretDB), less room for the
 * other fields: the largest maxRecordSize allowed. A record close to it may
 * still fail as a document (escaped field names can take more room than the
 * record's keys), which the server refuses with RECORD_TOO_LARGE.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024 - 4096;

/**
 * The record of a live document as the core reads it (v2 RECORD bytes,
 * a FORWARD marker, a v1 frame), or what the legacy decoder made of it;
 * null for an absent or expired document. Anything else (a foreign shape, a
 * broken legacy body) is "absent": bad stored data gives a fresh session,
 * never an error.
 */
export function fromDocument(doc: SessionDocument | null | undefined, legacy: boolean, now: number): Uint8Array | DecodedRecord | null {
  // Checked here as well as in the query: lookups by _id alone carry no expiry filter.
  if (!isLive(doc, now)) return null;
  if (doc.s !== undefined) return assemble(doc);
  if (doc.fwd instanceof Uint8Array) return doc.fwd;
  const record = doc.record;
  if (record instanceof Uint8Array) return record;
  if (record !== undefined || !legacy || doc.session === undefined) return null;
  return fromLegacy(doc.session, doc.expires, now);
}

/** True for a document whose `expires` is still ahead: what a touch extends. */
export function isLive(doc: SessionDocument | null | undefined, now: number): doc is SessionDocument {
  return doc != null && doc.expires instanceof Date && doc.expires.getTime() > now;
}

/**
 * What a document is to a patch, a forward or a touch (types.ts: they act
 * only on a live record): 'record' a live v2 session; 'other' a live session
 * in an older format (only a CLEAR patch replaces it); `{ movedTo }` a
 * FORWARD marker; null nothing a read would hand over as a session.
 */
export type Held = 'record' | 'other' | { movedTo: string } | null;

export function heldBy(doc: SessionDocument | null | undefined, legacy: boolean, now: number): Held {
  if (!isLive(doc, now)) return null;
  // A v2 document is judged by its header, without assembling the record (a patch never needs it).
  if (doc.s !== undefined) return isRecordDocument(doc) && !((doc.hx as number) !== 0 && (doc.hx as number) <= now) ? 'record' : null;
  const r = fromDocument(doc, legacy, now);
  if (r === null) return null;
  if (!(r instanceof Uint8Array)) return r.expiresAt !== 0 && r.expiresAt <= now ? null : 'other';
  if (doc.fwd === undefined) {
    const f = codec.unframe(r);
    return f === null || (f.expiresAt !== 0 && f.expiresAt <= now) ? null : 'other';
  }
  const v = codec.scan(r);
  if (v === null || (v.expiresAt !== 0 && v.expiresAt <= now)) return null;
  return v.kind === KIND_FORWARD && v.target !== null ? { movedTo: v.target } : null;
}

/**
 * connect-mongo's body: express-session's JSON with its `cookie` member,
 * which hotsession keeps outside the data (the manager owns cookie options).
 * The data follows the one rule of every legacy reader (legacy-data.ts).
 */
export function fromLegacy(session: unknown, expires: unknown, now: number): DecodedRecord | null {
  let parsed: unknown = session;
  if (typeof session === 'string') {
    try {
      parsed = JSON.parse(session);
    } catch {
      return null;
    }
  }
  const data = legacyData(parsed);
  if (data === null) return null;
  const expiresAt = expires instanceof Date ? expires.getTime() : 0;
  return { data, expiresAt: Number.isFinite(expiresAt) ? expiresAt : 0, createdAt: now };
}
