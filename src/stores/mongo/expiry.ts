import { debuglog } from 'node:util';
import type { Collection } from 'mongodb';
import type { SessionDocument } from './documents';
import type { LockDocument } from './locked';

const debug = debuglog('hotsession');

/** How expired documents leave the collection (reads ignore them in every mode). */
export type AutoRemove = 'native' | 'interval' | 'disabled';

/** Code of the one warning emitted when the server refuses a TTL index. */
export const TTL_WARNING_CODE = 'HOTSESSION_MONGO_TTL_UNSUPPORTED';

let warned = false;

/** Server codes that mean "no TTL index here", whatever the retry: NotImplemented, CannotCreateIndex, IndexOptionsConflict, IndexKeySpecsConflict, CommandNotSupported, InvalidIndexSpecificationOption. */
const TTL_REFUSALS = new Set([238, 67, 85, 86, 115, 197]);

/**
 * True for an error the server answered with (not a network or server
 * selection failure, which a retry may cure). Checked by name: a user's
 * client may come from another copy of the driver.
 */
function fromServer(err: unknown): boolean {
  return (err as Error | null)?.name === 'MongoServerError';
}

/** True when the server will never accept a TTL index here (so a fallback is right, not a retry). */
export function refusesTtl(err: unknown): boolean {
  if (!fromServer(err)) return false;
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'number' && TTL_REFUSALS.has(code)) || /expireAfterSeconds|TTL/i.test((err as Error).message);
}

/**
 * Creates what `mode` needs and answers the mode actually in force.
 * 'native': a TTL index on `expires` (expireAfterSeconds 0: a document goes
 * when its own date passes). Servers without TTL indexes (FerretDB v1 says
 * "Index option expireAfterSeconds is not implemented") and conflicting
 * existing indexes fall back to 'interval' with one process warning.
 * 'interval': a plain index so the sweep's range delete does not scan.
 * Network errors reject, so the next operation tries again.
 */
export async function prepareExpiry(col: Collection<SessionDocument>, mode: AutoRemove): Promise<AutoRemove> {
  if (mode === 'disabled') return mode;
  if (mode === 'native') {
    try {
      await col.createIndex({ expires: 1 }, { expireAfterSeconds: 0 });
      return 'native';
    } catch (err) {
      if (!refusesTtl(err)) throw err;
      if (!warned) {
        warned = true;
        process.emitWarning(
          `MongoStore: the server refused a TTL index on ${col.collectionName}.expires (${(err as Error).message}); ` +
            "expired sessions are deleted on a timer instead (autoRemove: 'interval'). Pass autoRemove: 'interval' to silence this.",
          { code: TTL_WARNING_CODE },
        );
      }
    }
  }
  try {
    await col.createIndex({ expires: 1 });
  } catch (err) {
    // A TTL index of the same key (made earlier in 'native' mode) conflicts and serves as well.
    if (!fromServer(err)) throw err;
    debug('mongo: index on expires not created: %s', (err as Error).message);
  }
  return 'interval';
}

/**
 * Deletes expired documents every `every` ms on an unref'd timer; one sweep
 * at a time. With `locks` (a store with 'lock' atomicity) it also deletes
 * session locks past their lease, which a process that died left behind.
 */
export class Sweeper {
  readonly #col: Collection<SessionDocument>;
  readonly #locks: Collection<LockDocument> | null;
  #timer: NodeJS.Timeout | null;
  #running = false;

  constructor(col: Collection<SessionDocument>, every: number, locks: Collection<LockDocument> | null = null) {
    this.#col = col;
    this.#locks = locks;
    this.#timer = setInterval(() => void this.sweep(), every);
    this.#timer.unref();
  }

  /** One sweep now; resolves to the number of documents deleted (0 when one is already running or it failed). */
  async sweep(): Promise<number> {
    if (this.#running) return 0;
    this.#running = true;
    try {
      const now = new Date();
      const r = await this.#col.deleteMany({ expires: { $lte: now } });
      if (this.#locks !== null) await this.#locks.deleteMany({ until: { $lte: now } });
      return r.deletedCount;
    } catch (err) {
      // The next tick tries again; reads never depend on the sweep.
      debug('mongo: expiry sweep failed: %s', (err as Error).message);
      return 0;
    } finally {
      this.#running = false;
    }
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
