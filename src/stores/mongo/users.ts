import type { Collection } from 'mongodb';
import type { UserIndex } from '../types';

/**
 * The per-user index on MongoDB: one document per user in `<collection>.users`,
 *
 *   { _id: <user id>, e: { <handle>: { s: <session id>, v: <entry> } }, x: <expires at, ms> }
 *
 * Every change is one atomic single-document update: `$set` of one handle
 * (with `$max` on "x") as an upsert, or `$unset` of one handle filtered on
 * the session id it must still name. Nothing is read first, so concurrent
 * logins, logouts and revocations of one user keep each other's changes.
 * FerretDB has no TTL indexes: an index past "x" reads as empty and is
 * deleted by the read that finds it so.
 */

interface UserDocument {
  _id: string;
  e?: Record<string, { s?: unknown; v?: unknown }>;
  x?: number;
}

function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 11000;
}

export class MongoUserIndex implements UserIndex {
  readonly #col: Collection<UserDocument>;

  constructor(col: Collection<UserDocument>) {
    this.#col = col;
  }

  async put(userId: string, handle: string, entry: string, ttlMs: number): Promise<number> {
    const sid = entry.slice(0, entry.indexOf('\n'));
    const update = { $set: { [`e.${handle}`]: { s: sid, v: entry } }, $max: { x: Date.now() + ttlMs } };
    for (let i = 0; ; i++) {
      try {
        const doc = await this.#col.findOneAndUpdate({ _id: userId }, update, { upsert: true, returnDocument: 'after' });
        return doc?.e === undefined ? 1 : Object.keys(doc.e).length;
      } catch (err) {
        // Two first logins of a user upserting at once: one insert loses; its update then applies to the winner's document.
        if (!isDuplicateKey(err) || i > 0) throw err;
      }
    }
  }

  async list(userId: string): Promise<Array<[string, string]>> {
    const doc = await this.#col.findOne({ _id: userId });
    if (doc === null) return [];
    const now = Date.now();
    if (typeof doc.x !== 'number' || doc.x <= now) {
      await this.#col.deleteOne({ _id: userId, x: { $lte: now } });
      return [];
    }
    const out: Array<[string, string]> = [];
    for (const [h, v] of Object.entries(doc.e ?? {})) if (typeof v?.v === 'string') out.push([h, v.v]);
    return out;
  }

  async remove(userId: string, handle: string, sid?: string): Promise<void> {
    if (handle.includes('.') || handle.startsWith('$')) return; // no handle of ours: nothing of ours to remove
    const filter: Record<string, unknown> = { _id: userId };
    if (sid !== undefined) filter[`e.${handle}.s`] = sid;
    await this.#col.updateOne(filter, { $unset: { [`e.${handle}`]: '' } });
  }
}
