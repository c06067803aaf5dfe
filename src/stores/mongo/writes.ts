import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import { codes, HotsessionError } from '../../errors';
import type { WriteOp } from '../batcher';
import type { SessionDocument } from './documents';

/** One op of a batch with the expiry it writes (one clock reading per batch). */
interface Planned {
  op: WriteOp;
  expires: Date;
}

/** Shape of a driver write error, read by duck typing: a user's client may come from another copy of the driver. */
interface WriteErrorLike {
  index: number;
  code: number;
  errmsg?: string;
}

function model(p: Planned): AnyBulkWriteOperation<SessionDocument> {
  const { op, expires } = p;
  if (op.kind === 'set') return { replaceOne: { filter: { _id: op.id }, replacement: { expires, record: op.bytes! }, upsert: true } };
  if (op.kind === 'touch') return { updateOne: { filter: { _id: op.id }, update: { $set: { expires } } } };
  return { deleteOne: { filter: { _id: op.id } } };
}

/** The server's per-op errors of a MongoBulkWriteError, or null for any other failure. */
function writeErrorsOf(err: unknown): WriteErrorLike[] | null {
  const list = (err as { writeErrors?: unknown } | null)?.writeErrors;
  if (list === undefined || list === null) return null;
  const all = (Array.isArray(list) ? list : [list]) as WriteErrorLike[];
  return all.length > 0 && all.every((w) => Number.isInteger(w?.index)) ? all : null;
}

function refusal(w: WriteErrorLike): HotsessionError {
  const cause = Object.assign(new Error(w.errmsg ?? `write error ${w.code}`), { code: w.code, index: w.index });
  return new HotsessionError(codes.STORE, `session write refused by the server: ${cause.message}`, { cause });
}

/**
 * Sends one batch: a single op as its own command, several as one unordered
 * bulkWrite. Resolves with nothing when all succeeded, or with one entry per
 * op (an Error for each that failed) when the server refused some of them.
 */
export async function writeBatch(col: Collection<SessionDocument>, ops: WriteOp[], maxTtl: number): Promise<unknown[] | void> {
  const now = Date.now();
  const planned = ops.map((op): Planned => ({ op, expires: new Date(now + Math.min(op.ttlMs, maxTtl)) }));
  if (planned.length === 1) {
    const p = planned[0]!;
    const { op, expires } = p;
    if (op.kind === 'set') await col.replaceOne({ _id: op.id }, { expires, record: op.bytes! }, { upsert: true });
    else if (op.kind === 'touch') await col.updateOne({ _id: op.id }, { $set: { expires } });
    else await col.deleteOne({ _id: op.id });
    return;
  }
  try {
    await col.bulkWrite(planned.map(model), { ordered: false });
    return;
  } catch (err) {
    const refused = writeErrorsOf(err);
    if (refused === null) throw err;
    const results: unknown[] = new Array<unknown>(planned.length).fill(undefined);
    for (const w of refused) if (w.index >= 0 && w.index < results.length) results[w.index] = refusal(w);
    await confirm(col, planned, results, err);
    return results;
  }
}

/**
 * After a partial failure, checks the ops the server did not name before
 * reporting them as saved. MongoDB names exactly the failed ops, but
 * FerretDB v1 ignores `ordered: false` for updates (FerretDB issue #2612):
 * it stops at the first failure, reports it at index 0, and skips the rest
 * of the batch. Acknowledged must mean durable on both, so every unnamed op
 * is read back: a set must find its own expiry and bytes, a touch its expiry
 * (or no document: touching an absent record is a no-op), a destroy no
 * document. A newer write from a concurrent batch can make a check fail;
 * that rejects a write that did land, never the reverse. This costs one
 * read, only on this rare path.
 */
async function confirm(col: Collection<SessionDocument>, planned: Planned[], results: unknown[], bulkError: unknown): Promise<void> {
  const open = planned.map((_, i) => i).filter((i) => results[i] === undefined);
  if (open.length === 0) return;
  const unconfirmed = (): HotsessionError =>
    new HotsessionError(codes.STORE, 'session write not confirmed after a partially failed batch', { cause: bulkError });
  let docs: SessionDocument[];
  try {
    const ids = open.map((i) => planned[i]!.op.id);
    docs = await col.find({ _id: { $in: ids } }, { projection: { expires: 1, record: 1 }, promoteBuffers: true }).toArray();
  } catch {
    for (const i of open) results[i] = unconfirmed();
    return;
  }
  const byId = new Map(docs.map((d) => [d._id, d]));
  for (const i of open) {
    const { op, expires } = planned[i]!;
    const doc = byId.get(op.id);
    const sameExpiry = doc?.expires instanceof Date && doc.expires.getTime() === expires.getTime();
    let ok: boolean;
    if (op.kind === 'set') ok = sameExpiry && doc!.record instanceof Uint8Array && Buffer.compare(op.bytes!, doc!.record) === 0;
    else if (op.kind === 'touch') ok = doc === undefined || sameExpiry;
    else ok = doc === undefined;
    if (!ok) results[i] = unconfirmed();
  }
}
