import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';
import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import { codes, HotsessionError } from '../../errors';
import { fromDocument, heldBy, isLive, type SessionDocument } from './documents';
import { patchUpdate, sizeAfter } from './shape';
import { isClear, markerDocument, settle, writeErrorsOf, type Planned, type WriteContext } from './writes';

const debug = debuglog('hotsession');

/**
 * 'lock' atomicity, for servers whose single-document updates are not
 * atomic. FerretDB v1 on SQLite applies an update as a read of the document,
 * the change made in Go, then a write of the whole document, with nothing
 * between them held: two updates of one document from two connections can
 * both read the old version, and the second write drops the first one's
 * change (20 concurrent `$set`s of distinct fields of one document kept 7;
 * 200 kept 8, on FerretDB 1.24 with plain driver calls). The one atomic
 * step it has is an insert under a unique `_id`. So every write that changes
 * a live document (patch, forward, touch) first takes a lock document
 * `{ _id: <session id>, until }` in `<collection>.locks` by inserting it,
 * then reads the session, decides, writes it, and deletes the lock:
 *
 *   insertMany(locks, ordered: false) ── duplicate key: held elsewhere ── wait (jittered), try again
 *        │                                                                └─ past ATTEMPTS: HOTSESSION_ERR_CONFLICT
 *        └─ taken ──> read sessions by _id ──> decide ──> one bulk of updates by _id ──> deleteMany(locks)
 *
 * Every filter is `_id` alone, the one lookup FerretDB does not answer by
 * scanning the collection. A lock lives `leaseMs` at most: a process that
 * died holding one blocks that session's writes until then, and a lock
 * found past its lease is deleted by whoever finds it. (A holder stalled
 * past its lease could still write after the next one: the lease is many
 * times the store's timeout for that reason.) `set` (a new id nobody else
 * knows) and `destroy` (a delete, atomic everywhere) take no lock.
 */

/** Rounds of lock taking per op before a conflict. */
export const ATTEMPTS = 12;
const BASE_MS = 2;
const CAP_MS = 50;

export interface LockDocument {
  _id: string;
  until: Date;
  /** Which round of which process took it: a release deletes its own locks only, not one taken after its lease. */
  by: string;
}

/** The collection of lock documents beside `col`. */
export function locksOf(col: Collection<SessionDocument>): Collection<LockDocument> {
  return col.db.collection<LockDocument>(`${col.collectionName}.locks`);
}

/** Inserts a lock per id; resolves with the ids taken (a duplicate key is a lock held elsewhere). */
async function take(locks: Collection<LockDocument>, ids: string[], until: Date, by: string): Promise<Set<string>> {
  try {
    await locks.insertMany(ids.map((_id) => ({ _id, until, by })), { ordered: false });
    return new Set(ids);
  } catch (err) {
    const refused = writeErrorsOf(err);
    if (refused === null || refused.some((w) => w.code !== 11000)) throw err;
    const held = new Set(ids);
    for (const w of refused) held.delete(ids[w.index]!);
    return held;
  }
}

/** Deletes the locks of `ids` that are past their lease, so the next round can take them. */
async function breakStale(locks: Collection<LockDocument>, ids: string[], now: Date): Promise<void> {
  const stale = await locks.find({ _id: { $in: ids }, until: { $lte: now } }, { projection: { _id: 1 } }).toArray();
  if (stale.length === 0) return;
  debug('mongo: breaking %d session locks past their lease', stale.length);
  await locks.deleteMany({ _id: { $in: stale.map((l) => l._id) }, until: { $lte: now } });
}

/**
 * Decides and writes the ops whose locks are held (see the module comment);
 * fills `results` for `idx`.
 */
async function underLock(ctx: WriteContext, planned: Planned[], idx: number[], results: unknown[]): Promise<void> {
  const docs = await ctx.read(idx.map((i) => planned[i]!.op.id));
  const now = Date.now();
  const models: AnyBulkWriteOperation<SessionDocument>[] = [];
  const written: number[] = [];
  for (const i of idx) {
    const p = planned[i]!;
    const { op, expires } = p;
    const doc = docs.get(op.id);
    const h = heldBy(doc, ctx.legacy, now);
    const filter = { _id: op.id };
    if (op.kind === 'patch') {
      if (h === null) results[i] = 'gone';
      else if (typeof h === 'object') results[i] = h;
      else if (h === 'other' && !isClear(p)) results[i] = 'stale';
      else if (sizeAfter(h === 'record' ? doc!.s : null, op.bytes!, p.view!) > ctx.maxRecordSize) {
        results[i] = new HotsessionError(codes.RECORD_TOO_LARGE, `the patch would make session ${op.id}'s record larger than maxRecordSize (${ctx.maxRecordSize})`);
      } else {
        models.push({ updateOne: { filter, update: patchUpdate(op.bytes!, p.view!, expires) as never } });
        written.push(i);
      }
    } else if (op.kind === 'forward') {
      if (h === 'record' || h === 'other') {
        results[i] = fromDocument(doc, ctx.legacy, now);
        models.push({ replaceOne: { filter, replacement: markerDocument(p) } });
        written.push(i);
      } else results[i] = null;
    } else if (isLive(doc, now)) {
      // A touch, as in 'update' atomicity: any document not past its expiry.
      models.push({ updateOne: { filter, update: { $set: { expires } } } });
      written.push(i);
    }
  }
  if (models.length === 0) return;
  try {
    await ctx.col.bulkWrite(models, { ordered: false });
  } catch (err) {
    const refused = writeErrorsOf(err);
    if (refused === null) throw err;
    const named = new Set<number>();
    for (const w of refused) {
      const i = written[w.index];
      if (i === undefined) continue;
      named.add(i);
      results[i] = new HotsessionError(codes.STORE, `session write refused by the server: ${w.errmsg ?? w.code}`, { cause: err });
    }
    // A forward's result was set to the record it replaced; an unconfirmed one is an error instead.
    const open = written.filter((i) => !named.has(i));
    const probe = new Array<unknown>(planned.length).fill(undefined);
    await settle(ctx, planned, open, probe, now, true, err);
    for (const i of open) if (probe[i] !== undefined) results[i] = probe[i];
  }
}

/**
 * Runs patch, forward and touch ops under session locks (see the module
 * comment). Resolves with one result per op: a PatchOutcome, a forward's
 * record or null, undefined for a touch, or an Error.
 */
export async function lockedBatch(ctx: WriteContext, locks: Collection<LockDocument>, planned: Planned[], leaseMs: number): Promise<unknown[]> {
  const results = new Array<unknown>(planned.length).fill(undefined);
  let waiting = planned.map((_, i) => i);
  for (let attempt = 0; waiting.length > 0; attempt++) {
    if (attempt >= ATTEMPTS) {
      for (const i of waiting) {
        results[i] = new HotsessionError(codes.CONFLICT, `session ${planned[i]!.op.id} stayed locked by other writers through ${ATTEMPTS} attempts`);
      }
      break;
    }
    if (attempt > 0) await sleep(Math.random() * Math.min(CAP_MS, BASE_MS * 2 ** (attempt - 1)));
    const ids = waiting.map((i) => planned[i]!.op.id);
    const by = randomBytes(9).toString('base64url');
    const held = await take(locks, ids, new Date(Date.now() + leaseMs), by);
    const mine = waiting.filter((i) => held.has(planned[i]!.op.id));
    const busy = waiting.filter((i) => !held.has(planned[i]!.op.id));
    try {
      if (mine.length > 0) await underLock(ctx, planned, mine, results);
    } catch (err) {
      for (const i of mine) results[i] = err;
    } finally {
      if (mine.length > 0) {
        await locks.deleteMany({ _id: { $in: mine.map((i) => planned[i]!.op.id) }, by }).catch((err: unknown) => {
          // The lease frees them if this fails (the server went away mid-batch).
          debug('mongo: releasing %d session locks failed: %s', mine.length, (err as Error).message);
        });
      }
    }
    if (busy.length > 0) await breakStale(locks, busy.map((i) => planned[i]!.op.id), new Date()).catch(() => {});
    waiting = busy;
  }
  return results;
}
