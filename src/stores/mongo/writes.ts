import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import { codec } from '../../codec';
import { FLAG_CLEAR, KIND_RECORD } from '../../codec/layout';
import type { RecordView } from '../../codec/record';
import { codes, HotsessionError } from '../../errors';
import type { WriteOp } from '../batcher';
import { fromDocument, heldBy, isLive, type SessionDocument } from './documents';
import { fieldsOf, patchUpdate, showsPatch } from './shape';

/** What every write path of the store needs. */
export interface WriteContext {
  col: Collection<SessionDocument>;
  legacy: boolean;
  /** Cap on any lifetime written (the `ttl` option), ms. */
  maxTtl: number;
  maxRecordSize: number;
  /** Documents by id, read the way the store reads (lookup 'in' or 'id'). */
  read(ids: string[]): Promise<Map<string, SessionDocument>>;
}

/** One op of a batch with the expiry it writes (one clock reading per batch) and, for bytes, their scan. */
export interface Planned {
  op: WriteOp;
  expires: Date;
  view: RecordView | null;
}

export function plan(ops: WriteOp[], maxTtl: number, now: number): Planned[] {
  return ops.map((op) => ({
    op,
    expires: new Date(now + Math.min(op.ttlMs, maxTtl)),
    view: op.bytes === null || op.kind === 'destroy' ? null : codec.scan(op.bytes),
  }));
}

/** The document a `set` writes: a v2 RECORD as fields, anything older as one `record` (a v1 frame). */
export function setDocument(p: Planned): Omit<SessionDocument, '_id'> {
  if (p.view !== null && p.view.kind === KIND_RECORD) return { expires: p.expires, ...fieldsOf(p.op.bytes!, p.view) };
  return { expires: p.expires, record: p.op.bytes! };
}

/** A FORWARD marker's document. */
export function markerDocument(p: Planned): Omit<SessionDocument, '_id'> {
  return { expires: p.expires, fwd: p.op.bytes! };
}

/** True when a patch has CLEAR. */
export function isClear(p: Planned): boolean {
  return (p.view!.flags & FLAG_CLEAR) !== 0;
}

/**
 * The filter of a write that must find a live session ('update' atomicity:
 * the server's own single-document atomicity decides): `expires` ahead, the
 * record header's expiry (`hx`, v2 documents) too, and never a FORWARD
 * marker. `v2` also requires a v2 document (`s`): what a patch without
 * CLEAR applies to.
 */
function liveFilter(id: string, now: Date, v2: boolean): Record<string, unknown> {
  const notExpired = { $or: [{ hx: { $exists: false } }, { hx: 0 }, { hx: { $gt: now.getTime() } }] };
  return v2 ? { _id: id, expires: { $gt: now }, s: { $exists: true }, ...notExpired } : { _id: id, expires: { $gt: now }, fwd: { $exists: false }, ...notExpired };
}

/** A patch as one conditional update: no upsert, so a destroyed or expired session is never brought back. */
function patchModel(p: Planned, now: Date): AnyBulkWriteOperation<SessionDocument> {
  const { op, view, expires } = p;
  return { updateOne: { filter: liveFilter(op.id, now, !isClear(p)), update: patchUpdate(op.bytes!, view!, expires) as never } };
}

function model(p: Planned, now: Date): AnyBulkWriteOperation<SessionDocument> {
  const { op, expires } = p;
  if (op.kind === 'set') return { replaceOne: { filter: { _id: op.id }, replacement: setDocument(p), upsert: true } };
  if (op.kind === 'patch') return patchModel(p, now);
  if (op.kind === 'touch') return { updateOne: { filter: { _id: op.id, expires: { $gt: now } }, update: { $set: { expires } } } };
  return { deleteOne: { filter: { _id: op.id } } };
}

/** Shape of a driver write error, read by duck typing: a user's client may come from another copy of the driver. */
interface WriteErrorLike {
  index: number;
  code: number;
  errmsg?: string;
}

/** The server's per-op errors of a MongoBulkWriteError, or null for any other failure. */
export function writeErrorsOf(err: unknown): WriteErrorLike[] | null {
  const list = (err as { writeErrors?: unknown } | null)?.writeErrors;
  if (list === undefined || list === null) return null;
  const all = (Array.isArray(list) ? list : [list]) as WriteErrorLike[];
  return all.length > 0 && all.every((w) => Number.isInteger(w?.index)) ? all : null;
}

/** Server codes for a document over the BSON limit (BSONObjectTooLarge, and an update's result too large). */
const TOO_LARGE = new Set([10334, 17419, 17420]);

function refusal(w: WriteErrorLike): HotsessionError {
  const cause = Object.assign(new Error(w.errmsg ?? `write error ${w.code}`), { code: w.code, index: w.index });
  if (TOO_LARGE.has(w.code)) return new HotsessionError(codes.RECORD_TOO_LARGE, `session record refused by the server as a document: ${cause.message}`, { cause });
  return new HotsessionError(codes.STORE, `session write refused by the server: ${cause.message}`, { cause });
}

/**
 * Sends ops as one unordered bulkWrite (one command per op when alone) and
 * fills `results` (index i for ops[i]): an Error per refused op, the
 * PatchOutcome of each patch. `results` entries left undefined succeeded.
 */
export async function bulk(ctx: WriteContext, planned: Planned[], results: unknown[], now: number): Promise<void> {
  if (planned.length === 0) return;
  const at = new Date(now);
  const col = ctx.col;
  const patches = planned.filter((p) => p.op.kind === 'patch');
  if (planned.length === 1) {
    const m = model(planned[0]!, at);
    try {
      if ('replaceOne' in m) await col.replaceOne(m.replaceOne.filter, m.replaceOne.replacement, { upsert: true });
      else if ('updateOne' in m) {
        const r = await col.updateOne(m.updateOne.filter, m.updateOne.update as never);
        if (patches.length === 1 && r.matchedCount === 0) await settle(ctx, planned, [0], results, now, false);
      } else if ('deleteOne' in m) await col.deleteOne(m.deleteOne.filter);
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code === 'number' && TOO_LARGE.has(code)) results[0] = refusal({ index: 0, code, errmsg: (err as Error).message });
      else throw err;
    }
    return;
  }
  try {
    const r = await col.bulkWrite(planned.map((p) => model(p, at)), { ordered: false });
    // Every set matches or upserts one document; a touch or a patch matches one unless
    // its session is not live. Short of that, which patch missed is read back.
    const expected = planned.filter((p) => p.op.kind !== 'destroy').length;
    if (patches.length > 0 && r.matchedCount + r.upsertedCount < expected) {
      await settle(ctx, planned, planned.map((_, i) => i).filter((i) => planned[i]!.op.kind === 'patch'), results, now, false);
    }
  } catch (err) {
    const refused = writeErrorsOf(err);
    if (refused === null) throw err;
    for (const w of refused) if (w.index >= 0 && w.index < results.length) results[w.index] = refusal(w);
    await settle(ctx, planned, planned.map((_, i) => i).filter((i) => results[i] === undefined), results, now, true, err);
  }
}

/**
 * Reads back the documents of ops `open` and settles each from what the
 * server holds now. A patch the document shows is 'ok'; one it does not
 * show is what its document is: 'gone', `{ movedTo }`, 'stale' (an older
 * format, no CLEAR). `strict` is the path after a partially failed batch:
 * MongoDB names exactly the failed ops, but FerretDB v1 ignores
 * `ordered: false` for updates (FerretDB issue #2612), stops at the first
 * failure and skips the rest; so there a live v2 session that does not show
 * the patch was skipped (rejected as unconfirmed), and every set, touch,
 * destroy and forward is checked as well: a set must find its own expiry and
 * record, a touch its expiry (or no document), a destroy no document, a
 * forward its marker. Without `strict` (nothing failed, some update matched
 * nothing) a live v2 session means the patch matched and a later write
 * changed a key again: 'ok'. A newer write from a concurrent batch can make a
 * strict check fail; that rejects a write that did land, never the reverse.
 */
export async function settle(
  ctx: WriteContext, planned: Planned[], open: number[], results: unknown[], now: number, strict: boolean, cause?: unknown,
): Promise<void> {
  if (open.length === 0) return;
  const unconfirmed = (): HotsessionError =>
    new HotsessionError(codes.STORE, 'session write not confirmed after a partially failed batch', { cause });
  let docs: Map<string, SessionDocument>;
  try {
    docs = await ctx.read(open.map((i) => planned[i]!.op.id));
  } catch (err) {
    for (const i of open) results[i] = strict ? unconfirmed() : err;
    return;
  }
  for (const i of open) {
    const p = planned[i]!;
    const { op, expires } = p;
    const doc = docs.get(op.id);
    const sameExpiry = doc?.expires instanceof Date && doc.expires.getTime() === expires.getTime();
    if (op.kind === 'patch') {
      if (doc !== undefined && showsPatch(doc, op.bytes!, p.view!, expires, isClear(p))) continue;
      const h = heldBy(doc, ctx.legacy, now);
      if (h === null) results[i] = 'gone';
      else if (typeof h === 'object') results[i] = h;
      else if (h === 'other' && !isClear(p)) results[i] = 'stale';
      else if (strict || h === 'other') results[i] = unconfirmed();
      continue;
    }
    if (!strict) continue;
    let ok: boolean;
    if (op.kind === 'set') {
      ok = doc !== undefined && (p.view !== null && p.view.kind === KIND_RECORD
        ? showsPatch(doc, op.bytes!, p.view, expires, true)
        : sameExpiry && doc.record instanceof Uint8Array && Buffer.compare(op.bytes!, doc.record) === 0);
    } else if (op.kind === 'touch') ok = sameExpiry || !isLive(doc, now);
    else if (op.kind === 'forward') ok = sameExpiry && doc!.fwd instanceof Uint8Array && Buffer.compare(op.bytes!, doc!.fwd) === 0;
    else ok = doc === undefined;
    if (!ok) results[i] = unconfirmed();
  }
}

/**
 * Forwards, 'update' atomicity: one findOneAndReplace each (the old
 * document comes back in the same atomic step), matching only a live
 * document that is not already a marker. Fills `results` with the record
 * each replaced (as `get` gives it) or null.
 */
export async function forwards(ctx: WriteContext, planned: Planned[], results: unknown[], now: number): Promise<void> {
  const at = new Date(now);
  await Promise.all(planned.map(async (p, i) => {
    try {
      const before = await ctx.col.findOneAndReplace(
        liveFilter(p.op.id, at, false),
        markerDocument(p),
        { returnDocument: 'before', promoteBuffers: true },
      );
      results[i] = fromDocument(before, ctx.legacy, now);
    } catch (err) {
      results[i] = err;
    }
  }));
}

/**
 * One batch with 'update' atomicity: forwards one by one, everything else
 * as one bulk (see `bulk`), in parallel (a batch holds one op per id).
 */
export async function writeBatch(ctx: WriteContext, ops: WriteOp[]): Promise<unknown[]> {
  const now = Date.now();
  const planned = plan(ops, ctx.maxTtl, now);
  const results = new Array<unknown>(ops.length).fill(undefined);
  const fwd: number[] = [];
  const rest: number[] = [];
  planned.forEach((p, i) => (p.op.kind === 'forward' ? fwd : rest).push(i));
  const fwdResults = new Array<unknown>(fwd.length).fill(null);
  const restResults = new Array<unknown>(rest.length).fill(undefined);
  await Promise.all([
    fwd.length > 0 ? forwards(ctx, fwd.map((i) => planned[i]!), fwdResults, now) : undefined,
    // A failure of the whole bulk fails its ops, not the forwards that went their own way.
    bulk(ctx, rest.map((i) => planned[i]!), restResults, now).catch((err: unknown) => restResults.fill(err)),
  ]);
  fwd.forEach((i, k) => (results[i] = fwdResults[k]));
  rest.forEach((i, k) => (results[i] = restResults[k]));
  return results;
}
