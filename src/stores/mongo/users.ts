import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection } from 'mongodb';
import { codes, HotsessionError } from '../../errors';
import type { UserIndex } from '../types';
import type { LockDocument } from './locked';

/**
 * The per-user index on MongoDB: one document per user in `<collection>.users`,
 *
 *   { _id: <user id>, e: { <handle>: { s: <session id>, v: <entry> } }, x: <expires at, ms> }
 *
 * Every change is one atomic single-document update: `$set` of one handle
 * (with `$max` on "x"; an `insertOne` creates the document), or `$unset` of one handle filtered on
 * the session id it must still name. Nothing is read first, so concurrent
 * logins, logouts and revocations of one user keep each other's changes.
 * FerretDB has no TTL indexes: an index past "x" reads as empty and is
 * deleted by the read that finds it so.
 *
 * With the store's 'lock' atomicity (FerretDB v1, whose updates of one
 * document lose each other's changes: see locked.ts) every change instead
 * takes the user's lock document `{ _id: "user:<user id>" }` in the store's
 * `<collection>.locks` (an insert under a unique _id, the one atomic step
 * FerretDB has), then reads, changes and replaces the user's document, and
 * releases the lock.
 */

/** Lock rounds (jittered waits between) before a change gives up. */
const LOCK_TRIES = 40;

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
  readonly #locks: Collection<LockDocument>;
  readonly #mode: () => Promise<'update' | 'lock'>;
  readonly #leaseMs: number;

  /** `mode` resolves to the store's atomicity once it is known. */
  constructor(col: Collection<UserDocument>, locks: Collection<LockDocument>, mode: () => Promise<'update' | 'lock'>, leaseMs: number) {
    this.#col = col;
    this.#locks = locks;
    this.#mode = mode;
    this.#leaseMs = leaseMs;
  }

  async #locked<T>(userId: string, fn: () => Promise<T>): Promise<T> {
    const _id = `user:${userId}`;
    const by = randomBytes(8).toString('hex');
    for (let i = 0; ; i++) {
      try {
        await this.#locks.insertOne({ _id, until: new Date(Date.now() + this.#leaseMs), by });
        break;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
        if (i >= LOCK_TRIES) throw new HotsessionError(codes.CONFLICT, `the users index lock of one user stayed held through ${LOCK_TRIES} tries; nothing was written`);
        // A holder that died frees the lock at the end of its lease.
        await this.#locks.deleteOne({ _id, until: { $lte: new Date() } });
        await sleep(1 + Math.random() * Math.min(50, 2 ** i));
      }
    }
    try {
      return await fn();
    } finally {
      await this.#locks.deleteOne({ _id, by }).catch(() => undefined);
    }
  }

  async put(userId: string, handle: string, entry: string, ttlMs: number): Promise<number> {
    const sid = entry.slice(0, entry.indexOf('\n'));
    const value = { s: sid, v: entry };
    const x = Date.now() + ttlMs;
    if ((await this.#mode()) === 'lock') {
      return this.#locked(userId, async () => {
        const doc = await this.#col.findOne({ _id: userId });
        if (doc === null) {
          await this.#col.insertOne({ _id: userId, e: { [handle]: value }, x });
          return 1;
        }
        const e = { ...(doc.e ?? {}), [handle]: value };
        await this.#col.replaceOne({ _id: userId }, { e, x: Math.max(typeof doc.x === 'number' ? doc.x : 0, x) });
        return Object.keys(e).length;
      });
    }
    // Update the user's document, else create it. Not one upsert: an insert that loses the
    // race for a new _id simply goes back to the update, which then finds the winner's document.
    for (let i = 0; i < 8; i++) {
      const doc = await this.#col.findOneAndUpdate({ _id: userId }, { $set: { [`e.${handle}`]: value }, $max: { x } }, { returnDocument: 'after' });
      if (doc !== null) return doc.e === undefined ? 1 : Object.keys(doc.e).length;
      try {
        await this.#col.insertOne({ _id: userId, e: { [handle]: value }, x });
        return 1;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
    throw new HotsessionError(codes.CONFLICT, 'a users index document kept being created and removed under this login; nothing was written');
  }

  async list(userId: string): Promise<Array<[string, string]>> {
    const doc = await this.#col.findOne({ _id: userId });
    if (doc === null) return [];
    const now = Date.now();
    if (typeof doc.x !== 'number' || doc.x <= now) {
      const drop = () => this.#col.deleteOne({ _id: userId, x: { $lte: now } });
      if ((await this.#mode()) === 'lock') await this.#locked(userId, drop);
      else await drop();
      return [];
    }
    const out: Array<[string, string]> = [];
    for (const [h, v] of Object.entries(doc.e ?? {})) if (typeof v?.v === 'string') out.push([h, v.v]);
    return out;
  }

  async remove(userId: string, handle: string, sid?: string): Promise<void> {
    if (handle.includes('.') || handle.startsWith('$')) return; // no handle of ours: nothing of ours to remove
    if ((await this.#mode()) === 'lock') {
      await this.#locked(userId, async () => {
        const doc = await this.#col.findOne({ _id: userId });
        const v = doc?.e?.[handle];
        if (doc === null || v === undefined || !Object.hasOwn(doc.e!, handle) || (sid !== undefined && v.s !== sid)) return;
        const e = { ...doc.e };
        delete e[handle];
        await this.#col.replaceOne({ _id: userId }, { e, x: doc.x ?? 0 });
      });
      return;
    }
    const filter: Record<string, unknown> = { _id: userId };
    if (sid !== undefined) filter[`e.${handle}.s`] = sid;
    await this.#col.updateOne(filter, { $unset: { [`e.${handle}`]: '' } });
  }
}
