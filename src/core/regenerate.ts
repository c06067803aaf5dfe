import { codec } from '../codec';
import { FRAME_MAGIC, KIND_FORWARD, KIND_PATCH, KIND_RECORD, RECORD_VERSION } from '../codec/layout';
import { decodeData, encodeValue } from '../codec/msgpack';
import { forwardMarker, keyAt, type RecordView } from '../codec/record';
import type { DecodedRecord, MaybePromise, SessionStore } from '../stores/types';
import type { LoadedBase } from './entries';
import { keyProblem, valueBytes } from './record-keys';
import type { SessionState } from './state';
import { giveWriter, takeWriter } from './writes';

/**
 * regenerate() of a stored session, under concurrency (a login while other
 * requests of the session are in flight):
 *
 *   1. write the session's whole current view under a new id (`set`);
 *   2. `forward(old id -> new id)`: the old record becomes a FORWARD marker
 *      for the grace window, and the store returns what the old id held at
 *      that moment;
 *   3. compare that, key by key (the entries' bytes), with the record this
 *      request loaded, and patch the new id with the keys other requests
 *      changed meanwhile that this request did not write itself (the later
 *      write wins, per key);
 *   4. from then on, patches of requests still in flight with the old id
 *      land on the marker and the core redirects them to the new id.
 *
 * Step 1 comes first so a redirected patch always finds the new record.
 * A request that loads the old id gets a fresh session (a forwarded id is
 * never a credential for the new one), so only requests that loaded the
 * session before the login reach the new session, and only during the grace
 * window. When step 2 finds nothing (the old session was destroyed or
 * expired meanwhile: a logout won the race), the new record is removed too
 * and the session starts over empty: nothing a logout removed lives on.
 *
 * What remains racy: another request's write that lands on the old id before
 * step 2 and a second write of the same key redirected to the new id before
 * step 3 can end with the first value (one round trip wide).
 */

/** What regenerate needs from its manager. */
export interface RegenerateHost {
  readonly store: SessionStore;
  readonly tag: number;
  /** How long (ms) the FORWARD marker lives. */
  readonly grace: number;
  newId(): string;
  /** Store TTL from now and the record's hard expiry for `s` now (ttl <= 0: past its deadline). */
  lifetime(s: SessionState, now: number): { ttl: number; expiresAt: number };
  /** The whole view of `s` as a RECORD (size-checked). */
  record(s: SessionState, expiresAt: number): Buffer;
}

function isForward(rec: Uint8Array | DecodedRecord): boolean {
  return rec instanceof Uint8Array && rec.length > 2 && rec[0] === FRAME_MAGIC && rec[1] === RECORD_VERSION && rec[2] === KIND_FORWARD;
}

/**
 * `beforeForward` runs between steps 1 and 2 (users' sessions index the new
 * id there, so a revocation that reads either id ends the session).
 */
export async function regenerateStored(
  h: RegenerateHost, s: SessionState, beforeForward?: (newId: string, ttl: number, now: number) => MaybePromise<void>,
): Promise<void> {
  const store = h.store;
  const e = s.entries;
  const oldId = s.id;
  const loaded = e.loaded();
  const touched = e.touched();
  const now = Date.now();
  const { ttl, expiresAt } = h.lifetime(s, now);
  const createdAt = s.createdAt;
  const record = h.record(s, expiresAt);
  const view = codec.scan(record)!;
  const newId = h.newId();
  // From here the session is the new id's: its whole view is the base, nothing pending.
  s.regenerating(newId);
  e.adopt(record, view);
  try {
    await store.set(newId, record, ttl);
  } catch (err) {
    s.moveFailed();
    throw err;
  }
  s.movedIn();
  if (beforeForward !== undefined) {
    try {
      await beforeForward(newId, ttl, now);
    } catch (err) {
      // The new session stands; the old id was not retired.
      s.moved();
      throw err;
    }
  }
  let held: Uint8Array | DecodedRecord | null;
  try {
    held = await store.forward(oldId, forwardMarker(newId, now + h.grace, createdAt, h.tag), h.grace);
  } catch (err) {
    // The new session stands; the old id was not retired.
    s.moved();
    throw err;
  }
  if (held === null || isForward(held)) {
    // The old session ended meanwhile (a logout, its expiry, another login): it must not live on here.
    s.orphaned(h.newId());
    await store.destroy(newId);
    return;
  }
  try {
    const diff = changedMeanwhile(held, loaded, touched, expiresAt, createdAt, h.tag);
    // (A store that forwards but cannot patch would lose these; the contract asks for both.)
    if (diff !== null && store.patch !== undefined && (await store.patch(newId, diff, ttl)) === 'ok') {
      const merged = codec.apply(record, diff);
      const mv = merged === null ? null : codec.scan(merged);
      if (merged !== null && mv !== null) e.rebase(merged, mv);
    }
  } finally {
    s.moved();
  }
}

/** A record's entries as key -> value bytes; null for anything that is not a live session. */
function entriesOf(x: Uint8Array | DecodedRecord | LoadedBase): Map<string, Uint8Array> | null {
  if (x instanceof Uint8Array) {
    if (x[1] === RECORD_VERSION) {
      const v = codec.scan(x);
      return v === null || v.kind !== KIND_RECORD ? null : recordEntries(x, v);
    }
    const frame = codec.unframe(x);
    const data = frame === null ? null : decodeData(frame.body);
    return data === null ? null : objectEntries(data);
  }
  if ('rec' in x) {
    if (x.rec !== null && x.view !== null) return recordEntries(x.rec, x.view);
    return x.obj === null ? new Map() : objectEntries(x.obj);
  }
  return x.data !== null && typeof x.data === 'object' ? objectEntries(x.data) : null;
}

function recordEntries(b: Uint8Array, v: RecordView): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < v.count; i++) out.set(keyAt(b, v, i), valueBytes(b, v, i));
  return out;
}

/** Values of a decoded record, encoded as a record would hold them (the same value gives the same bytes). */
function objectEntries(data: Record<string, unknown>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const k of Object.keys(data)) {
    if (keyProblem(k) !== null) continue;
    try {
      out.set(k, Buffer.from(encodeValue(k, data[k])));
    } catch {
      // A value no record can hold cannot be compared or carried: leave it out.
    }
  }
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * A patch with what other requests changed under the old id since this
 * request loaded it, minus the keys this request wrote (`touched`; null:
 * it cleared everything, so nothing older survives). Null when nothing changed.
 */
export function changedMeanwhile(
  held: Uint8Array | DecodedRecord, loaded: LoadedBase, touched: Set<string> | null,
  expiresAt: number, createdAt: number, tag: number,
): Buffer | null {
  if (touched === null) return null;
  if (held instanceof Uint8Array && loaded.rec !== null && same(held, loaded.rec)) return null;
  const now = entriesOf(held);
  const was = entriesOf(loaded);
  if (now === null || was === null) return null;
  const w = takeWriter();
  try {
    w.begin(KIND_PATCH, 0, expiresAt, createdAt, tag);
    for (const [k, bytes] of now) {
      if (touched.has(k)) continue;
      const before = was.get(k);
      if (before === undefined || !same(before, bytes)) w.set(k, bytes);
    }
    for (const k of was.keys()) if (!now.has(k) && !touched.has(k)) w.delete(k);
    return w.count === 0 ? null : w.finish();
  } finally {
    giveWriter(w);
  }
}
