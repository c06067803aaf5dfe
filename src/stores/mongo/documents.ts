import type { DecodedRecord } from '../types';

/**
 * The document shape in the sessions collection:
 *
 *   { _id: <session id>, expires: Date, record: BinData(0, <framed record>) }
 *
 * `expires` is what the TTL index (or the interval sweep) and every read
 * filter on; the frame inside `record` carries its own expiry as well, so a
 * record is never trusted past either. connect-mongo's documents differ only
 * in holding `session` (JSON text, or an object with `stringify: false`)
 * instead of `record`, which is what lets one collection serve both during
 * a migration.
 */
export interface SessionDocument {
  _id: string;
  expires: Date;
  record?: unknown;
  /** connect-mongo's serialized session (legacy documents only). */
  session?: unknown;
}

/**
 * BSON's per-document limit on MongoDB (and FerretDB). A record close to it
 * would fail the whole bulkWrite client-side, so writes above this are
 * refused before they join a batch.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024 - 4096;

/**
 * The framed record of a live document, or what the legacy decoder made of
 * it; null for an absent or expired document. Anything else (a foreign shape, a broken legacy body) is "absent": bad
 * stored data gives a fresh session, never an error.
 */
export function fromDocument(doc: SessionDocument | null | undefined, legacy: boolean, now: number): Uint8Array | DecodedRecord | null {
  // Checked here as well as in the query: lookups by _id alone carry no expiry filter.
  if (doc == null || !(doc.expires instanceof Date) || !(doc.expires.getTime() > now)) return null;
  const record = doc.record;
  if (record instanceof Uint8Array) return record;
  if (record !== undefined || !legacy || doc.session === undefined) return null;
  return fromLegacy(doc.session, doc.expires, now);
}

/**
 * connect-mongo's body: express-session's JSON with its `cookie` member,
 * which hotsession keeps outside the data (the manager owns cookie options).
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
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    // __proto__ from JSON.parse is an own property; copying it by assignment would change data's prototype.
    if (k !== 'cookie' && k !== '__proto__') data[k] = v;
  }
  const expiresAt = expires instanceof Date ? expires.getTime() : 0;
  return { data, expiresAt: Number.isFinite(expiresAt) ? expiresAt : 0, createdAt: now };
}
