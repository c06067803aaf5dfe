import type { Collection, MongoClient, MongoClientOptions } from 'mongodb';
import { codec } from '../codec';
import { KIND_FORWARD, KIND_PATCH } from '../codec/layout';
import { codes, HotsessionError, optionsError } from '../errors';
import { batchLimits, ReadBatcher, WriteBatcher, type BatchOptions, type WriteOp } from './batcher';
import { StoreProbe, type StoreStats } from './probe';
import { fromDocument, MAX_RECORD_BYTES, type SessionDocument } from './mongo/documents';
import { prepareExpiry, Sweeper, type AutoRemove } from './mongo/expiry';
import { Chunks } from './mongo/chunks';
import { Lanes } from './mongo/lanes';
import { lockedBatch, locksOf } from './mongo/locked';
import { plan, writeBatch, type WriteContext } from './mongo/writes';
import type { DecodedRecord, PatchOutcome, SessionStore } from './types';
import { MongoUserIndex } from './mongo/users';

export type { AutoRemove } from './mongo/expiry';
export { TTL_WARNING_CODE } from './mongo/expiry';
export type { SessionDocument } from './mongo/documents';

/** Options of {@link MongoStore}. Batching limits (`batch`, `maxBatch`, `maxPending`, `timeout`) come from BatchOptions. */
export interface MongoStoreOptions extends BatchOptions {
  /**
   * A MongoClient of the official `mongodb` driver (connected or not: the
   * driver connects on first use). The store never closes a client it was given.
   * Give it a `serverSelectionTimeoutMS` near the store's `timeout` (the
   * driver's default is 30 s), or operations queued while the server is down
   * keep running in the driver long after their callers gave up.
   */
  client?: MongoClient;
  /** Connection string, used when no `client` is given; the store then owns (and closes) its client. */
  url?: string;
  /**
   * Driver options for the store's own client (with `url`), over its defaults:
   * serverSelectionTimeoutMS = `timeout`, connectTimeoutMS = max(`timeout`, 2000),
   * socketTimeoutMS = max(10 × `timeout`, 10000), appName 'hotsession'.
   * @default {}
   */
  clientOptions?: MongoClientOptions;
  /**
   * Database name.
   * @default 'hotsession'
   */
  dbName?: string;
  /**
   * Collection name.
   * @default 'sessions'
   */
  collection?: string;
  /**
   * Longest lifetime (ms) a record gets in MongoDB, whatever the session asks
   * (its maxAge, or the manager's ttl for browser-session cookies).
   * @default undefined (the session's own lifetime)
   */
  ttl?: number;
  /**
   * How expired documents are removed: 'native' (a TTL index; falls back to
   * 'interval' with one warning when the server has none, as FerretDB v1),
   * 'interval' (a deleteMany on an unref'd timer), 'disabled' (neither).
   * Reads ignore expired documents in every mode.
   * @default 'native'
   */
  autoRemove?: AutoRemove;
  /**
   * Sweep period (ms) in 'interval' mode.
   * @default 60_000
   */
  autoRemoveInterval?: number;
  /**
   * 'read': documents connect-mongo wrote (`{ _id, session, expires }`) are
   * read too, so a live app migrates without logging anyone out. Writes
   * always use hotsession's format.
   * @default undefined (connect-mongo documents read as absent)
   */
  legacy?: 'read';
  /**
   * How the reads of one turn reach the server: 'in', one find on
   * `_id: { $in: [...] }` (one round trip, served by the _id index on
   * MongoDB); 'id', one find by `_id` per session, sent together (for servers
   * that use an index only for an exact `_id` lookup: FerretDB v1 on SQLite
   * scans the whole collection for `$in` or any second condition).
   * @default 'id' when the server reports itself as FerretDB (buildInfo), else 'in'
   */
  lookup?: 'in' | 'id';
  /**
   * How a patch, a forward (regenerate) and a touch are made atomic against
   * other processes writing the same session:
   * - 'update': the server's single-document atomicity. Each is one
   *   conditional update (`$set`/`$unset` of the session's fields) that
   *   matches only a live document; a turn's go out as one unordered
   *   bulkWrite. What MongoDB gives.
   * - 'lock': a lock document per session (in `<collection>.locks`) around a
   *   read and a write by `_id`: three more round trips per batch, for
   *   servers whose updates are not atomic (FerretDB v1 on SQLite, which
   *   loses concurrent updates of one document; see mongo/locked.ts).
   * @default 'lock' when the server reports itself as FerretDB (buildInfo), else 'update'
   */
  atomicity?: 'update' | 'lock';
  /**
   * Largest record (bytes) the store writes: a `set` or a patch larger than
   * this fails with HOTSESSION_ERR_RECORD_TOO_LARGE before anything is sent
   * (with 'lock' atomicity, also a patch whose resulting record would be).
   * At most 16 MiB - 4 KiB (MongoDB's document limit). The default leaves
   * room for the document's field names whatever the keys (an escaped name
   * can be up to three times its key). With 'update' atomicity the record a
   * patch makes is bounded by the server's 16 MB document limit, and refused
   * as RECORD_TOO_LARGE past it.
   * @default 8_388_608 (8 MiB)
   */
  maxRecordSize?: number;
}

type Loaded = Uint8Array | DecodedRecord;

/**
 * Largest write command sent to FerretDB, and how many may be in flight per
 * store (see #write). More lanes or larger chunks measured no faster: its
 * SQLite backend applies updates one at a time whatever the parallelism.
 */
const FERRET_CHUNK = 32;
const FERRET_LANES = 1;
/** A session lock's lease ('lock' atomicity), as a multiple of the store's timeout, and its floor. */
const LEASE_TIMEOUTS = 5;
const MIN_LEASE_MS = 5000;

/**
 * Sessions in a MongoDB collection, one document per session, each
 * top-level session key its own field (mongo/shape.ts):
 * `{ _id: id, expires: Date, hx, hc, ht, s: { <key>: BinData, ... } }`.
 *
 * Writes of one event-loop turn go to the server as one unordered
 * bulkWrite (replaceOne upserts for new sessions, `$set`/`$unset` of the
 * changed keys for patches, `$set` of `expires` for touches, deleteOne);
 * reads of one turn as one `find` on `_id $in`, and reads of an id already in
 * flight share its round trip. Each caller's promise settles with the batch
 * that carried it; a write the server refused rejects alone. Patches and
 * touches match only a live document and never upsert, so a destroyed or
 * expired session stays gone (see `atomicity` for servers whose updates
 * are not atomic).
 *
 * Indexes are made on first use (the constructor never does I/O); call
 * `ready()` at startup to surface configuration errors early.
 */
export class MongoStore implements SessionStore {
  /** The per-user index (users' sessions): a document per user in `<collection>.users`. */
  readonly users: MongoUserIndex;
  readonly #client: MongoClient;
  readonly #owned: boolean;
  readonly #col: Collection<SessionDocument>;
  readonly #legacy: boolean;
  readonly #maxTtl: number;
  readonly #mode: AutoRemove;
  readonly #every: number;
  readonly #writer: WriteBatcher;
  readonly #reader: ReadBatcher<Loaded>;
  #lookup: 'in' | 'id' | undefined;
  /** Set when the server is FerretDB: writes then go one command at a time, in chunks. */
  #ferret = false;
  readonly #chunks: Chunks<WriteOp>;
  #atomicity: 'update' | 'lock' | undefined;
  readonly #maxRecordSize: number;
  readonly #leaseMs: number;
  /** The per-batch timeout, also each request's store-time budget (SessionStore.timeout). */
  readonly timeout: number;
  readonly #probe = new StoreProbe('mongo');
  readonly #ctx: WriteContext;
  #setup: Promise<AutoRemove> | null = null;
  #active: AutoRemove | null = null;
  #sweeper: Sweeper | null = null;
  #closed = false;

  constructor(options: MongoStoreOptions) {
    const o = options ?? {};
    const limits = batchLimits(o);
    const mode = o.autoRemove ?? 'native';
    if (mode !== 'native' && mode !== 'interval' && mode !== 'disabled') throw optionsError("MongoStore autoRemove must be 'native', 'interval' or 'disabled'");
    const every = o.autoRemoveInterval ?? 60_000;
    if (!Number.isFinite(every) || every <= 0) throw optionsError('MongoStore autoRemoveInterval must be a positive number of ms');
    if (o.ttl !== undefined && (!Number.isFinite(o.ttl) || o.ttl <= 0)) throw optionsError('MongoStore ttl must be a positive number of ms');
    if (o.legacy !== undefined && o.legacy !== 'read') throw optionsError("MongoStore legacy must be 'read' or undefined");
    if (o.lookup !== undefined && o.lookup !== 'in' && o.lookup !== 'id') throw optionsError("MongoStore lookup must be 'in' or 'id'");
    if (o.atomicity !== undefined && o.atomicity !== 'update' && o.atomicity !== 'lock') throw optionsError("MongoStore atomicity must be 'update' or 'lock'");
    const maxRecordSize = o.maxRecordSize ?? 8 * 1024 * 1024;
    if (!Number.isInteger(maxRecordSize) || maxRecordSize < 64 || maxRecordSize > MAX_RECORD_BYTES) {
      throw optionsError(`MongoStore maxRecordSize must be an integer from 64 to ${MAX_RECORD_BYTES} (bytes)`);
    }
    const dbName = o.dbName ?? 'hotsession';
    const collection = o.collection ?? 'sessions';
    if (typeof dbName !== 'string' || dbName.length === 0) throw optionsError('MongoStore dbName must be a non-empty string');
    if (typeof collection !== 'string' || collection.length === 0) throw optionsError('MongoStore collection must be a non-empty string');

    if (o.client !== undefined) {
      if (o.client === null || typeof (o.client as MongoClient).db !== 'function') throw optionsError('MongoStore client must be a MongoClient');
      this.#client = o.client;
      this.#owned = false;
    } else {
      if (typeof o.url !== 'string' || o.url.length === 0) throw optionsError('MongoStore needs a client or a url');
      this.#client = ownClient(o.url, limits.timeout, o.clientOptions);
      this.#owned = true;
    }
    this.#col = this.#client.db(dbName).collection<SessionDocument>(collection);
    this.#legacy = o.legacy === 'read';
    this.#maxTtl = o.ttl ?? Infinity;
    this.#mode = mode;
    this.#every = every;
    this.#lookup = o.lookup;
    this.#atomicity = o.atomicity;
    this.#maxRecordSize = maxRecordSize;
    this.timeout = limits.timeout;
    this.#leaseMs = Math.max(LEASE_TIMEOUTS * limits.timeout, MIN_LEASE_MS);
    this.users = new MongoUserIndex(
      this.#client.db(dbName).collection(`${collection}.users`), locksOf(this.#col),
      () => this.#ensureSetup().then(() => this.#atomicity ?? 'update'), this.#leaseMs,
    );
    this.#ctx = {
      col: this.#col,
      legacy: this.#legacy,
      maxTtl: this.#maxTtl,
      maxRecordSize,
      read: (ids) => this.#readDocs(ids),
    };
    this.#chunks = new Chunks(FERRET_CHUNK, new Lanes(FERRET_LANES, limits.timeout), limits.timeout, (chunk) => this.#writeChunk(chunk));
    this.#writer = new WriteBatcher((ops) => this.#afterSetup(() => this.#write(ops)), limits, this.#probe);
    this.#reader = new ReadBatcher<Loaded>((ids) => this.#afterSetup(() => this.#fetch(ids)), limits, this.#probe);
  }

  /** The sessions collection (for inspection and maintenance; write sessions through the store). */
  get collection(): Collection<SessionDocument> {
    return this.#col;
  }

  /** The autoRemove mode in force once set up ('interval' after a refused TTL index); null before. */
  get autoRemove(): AutoRemove | null {
    return this.#active;
  }

  /** How reads are sent ('in' or 'id'); null until set up when left to detection. */
  get lookup(): 'in' | 'id' | null {
    return this.#lookup ?? null;
  }

  /** How patches are made atomic ('update' or 'lock'); null until set up when left to detection. */
  get atomicity(): 'update' | 'lock' | null {
    return this.#atomicity ?? null;
  }

  /** Largest record the store writes (see the option). */
  get maxRecordSize(): number {
    return this.#maxRecordSize;
  }

  /** Creates the indexes now (otherwise done by the first operation). Rejects on a server or network error. */
  async ready(): Promise<void> {
    await this.#ensureSetup();
  }

  get(id: string): Promise<Loaded | null> {
    if (this.#closed) return closedError();
    return this.#reader.get(id);
  }

  set(id: string, record: Uint8Array, ttlMs: number): Promise<void> {
    const bad = this.#checkSize(record.byteLength);
    if (bad !== null) return Promise.reject(bad);
    return this.#writer.set(id, record, ttlMs);
  }

  /**
   * Applies a PATCH to the live session document under `id` (see the class
   * comment and `atomicity`); resolves with the outcome (types.ts).
   */
  patch(id: string, patch: Uint8Array, ttlMs: number): Promise<PatchOutcome> {
    const v = codec.scan(patch);
    if (v === null || v.kind !== KIND_PATCH) return Promise.reject(new HotsessionError(codes.ENCODE, 'MongoStore.patch needs a v2 PATCH (src/codec/layout.ts)'));
    const bad = this.#checkSize(patch.byteLength);
    if (bad !== null) return Promise.reject(bad);
    return this.#writer.patch(id, patch, ttlMs);
  }

  /**
   * Swaps the live session document under `id` for a FORWARD `marker` living
   * `graceMs`, in one atomic step; resolves with the record it held (as
   * `get` gives it), or null when there was none (nothing written).
   */
  forward(id: string, marker: Uint8Array, graceMs: number): Promise<Loaded | null> {
    const v = codec.scan(marker);
    if (v === null || v.kind !== KIND_FORWARD) return Promise.reject(new HotsessionError(codes.ENCODE, 'MongoStore.forward needs a v2 FORWARD marker (src/codec/layout.ts)'));
    return this.#writer.forward(id, marker, graceMs) as Promise<Loaded | null>;
  }

  touch(id: string, ttlMs: number): Promise<void> {
    return this.#writer.touch(id, ttlMs);
  }

  destroy(id: string): Promise<void> {
    return this.#writer.destroy(id);
  }

  /** Deletes expired documents (and session locks past their lease) now; resolves to how many sessions went. Works in every autoRemove mode. */
  async sweep(): Promise<number> {
    const now = new Date();
    const r = await this.#col.deleteMany({ expires: { $lte: now } });
    if (this.#atomicity === 'lock') await locksOf(this.#col).deleteMany({ until: { $lte: now } });
    return r.deletedCount;
  }

  /** Waits for writes in flight, stops the sweep timer, and closes the client if the store created it. */
  /** Counters since the store was built (see StoreStats); `pending` counts writes. */
  stats(): StoreStats {
    return this.#probe.snapshot(this.#writer.pending);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweeper?.stop();
    this.#sweeper = null;
    try {
      await this.#writer.close();
    } finally {
      if (this.#owned) await this.#client.close();
    }
  }

  #ensureSetup(): Promise<AutoRemove> {
    if (this.#setup === null) {
      this.#setup = Promise.all([prepareExpiry(this.#col, this.#mode), isFerret(this.#client, this.#col.dbName)]).then(
        ([active, ferret]) => {
          this.#ferret = ferret;
          this.#lookup ??= ferret ? 'id' : 'in';
          this.#atomicity ??= ferret ? 'lock' : 'update';
          this.#active = active;
          const locks = this.#atomicity === 'lock' ? locksOf(this.#col) : null;
          if (active === 'interval' && !this.#closed) this.#sweeper = new Sweeper(this.#col, this.#every, locks);
          return active;
        },
        (err: unknown) => {
          // Unreachable server: the next operation tries again.
          this.#setup = null;
          throw err;
        },
      );
    }
    return this.#setup;
  }

  /** Runs `fn` once the indexes exist; after the first success this costs no await. */
  #afterSetup<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active !== null) return fn();
    return this.#ensureSetup().then(fn);
  }

  /**
   * FerretDB v1 on SQLite keeps one pooled SQLite connection per matched
   * update until its command ends, from a pool of 100 per database: one
   * command of ~100 updates of existing documents, or concurrent commands
   * adding up to that, deadlock the database for every client. Its writes
   * therefore go FERRET_CHUNK ops per command, FERRET_LANES commands at a
   * time, batches that wait for a lane sharing a chunk (mongo/chunks.ts).
   * MongoDB gets the whole batch as one bulkWrite, batches in parallel.
   */
  #write(ops: WriteOp[]): Promise<unknown[]> {
    if (!this.#ferret) return this.#writeChunk(ops);
    return this.#chunks.run(ops);
  }

  /**
   * One chunk of a batch. With 'lock' atomicity, new sessions and destroys
   * go as one bulk first, then patches, forwards and touches under their
   * session locks (mongo/locked.ts); one op per id, so the two never meet.
   */
  async #writeChunk(ops: WriteOp[]): Promise<unknown[]> {
    if (this.#atomicity !== 'lock') return writeBatch(this.#ctx, ops);
    const plain: number[] = [];
    const locked: number[] = [];
    ops.forEach((op, i) => (op.kind === 'set' || op.kind === 'destroy' ? plain : locked).push(i));
    const results = new Array<unknown>(ops.length).fill(undefined);
    if (plain.length > 0) {
      const r = await writeBatch(this.#ctx, plain.map((i) => ops[i]!));
      plain.forEach((i, k) => (results[i] = r[k]));
    }
    if (locked.length > 0) {
      const planned = plan(locked.map((i) => ops[i]!), this.#maxTtl, Date.now());
      let r: unknown[];
      try {
        r = await lockedBatch(this.#ctx, locksOf(this.#col), planned, this.#leaseMs);
      } catch (err) {
        r = new Array<unknown>(locked.length).fill(err);
      }
      locked.forEach((i, k) => (results[i] = r[k]));
    }
    return results;
  }

  #checkSize(bytes: number): HotsessionError | null {
    if (bytes <= this.#maxRecordSize) return null;
    return new HotsessionError(codes.RECORD_TOO_LARGE, `session record of ${bytes} bytes is larger than maxRecordSize (${this.#maxRecordSize})`);
  }

  /** Documents by id for the write paths' read-backs, the way reads go (one find, or one by _id each). */
  async #readDocs(ids: string[]): Promise<Map<string, SessionDocument>> {
    const opts = { promoteBuffers: true } as const;
    const byId = new Map<string, SessionDocument>();
    if (ids.length === 1 || this.#lookup === 'id') {
      const docs = await Promise.all(ids.map((id) => this.#col.findOne({ _id: id }, opts)));
      for (const d of docs) if (d !== null) byId.set(d._id, d);
    } else {
      for (const d of await this.#col.find({ _id: { $in: ids } }, opts).toArray()) byId.set(d._id, d);
    }
    return byId;
  }

  async #fetch(ids: string[]): Promise<Array<Loaded | null | Error>> {
    const now = Date.now();
    const opts = { promoteBuffers: true } as const;
    if (ids.length === 1 || this.#lookup === 'id') {
      // A filter of `_id` alone: the one lookup every server indexes. Expiry is checked on the document.
      return Promise.all(
        ids.map((id) => this.#col.findOne({ _id: id }, opts).then((doc) => fromDocument(doc, this.#legacy, now), (err: Error) => err)),
      );
    }
    // Expired documents are filtered whatever autoRemove does: a TTL monitor runs only once a minute.
    const docs = await this.#col.find({ _id: { $in: ids }, expires: { $gt: new Date(now) } }, opts).toArray();
    const byId = new Map<string, SessionDocument>();
    for (const d of docs) byId.set(d._id, d);
    return ids.map((id) => fromDocument(byId.get(id), this.#legacy, now));
  }
}

/**
 * True when the server is FerretDB (its buildInfo carries `ferretdbVersion`);
 * false for anything else, including a server that refuses buildInfo.
 */
async function isFerret(client: MongoClient, dbName: string): Promise<boolean> {
  try {
    const info = await client.db(dbName).command({ buildInfo: 1 });
    return typeof info.ferretdbVersion === 'string';
  } catch (err) {
    if ((err as Error)?.name === 'MongoServerError') return false;
    throw err;
  }
}

function closedError(): Promise<never> {
  return Promise.reject(new HotsessionError(codes.STORE_CLOSED, 'the store is closed'));
}

/**
 * The store's own client. The driver is required here, not imported at the
 * top: it is an optional peer dependency, and a store handed a client never
 * needs to load it.
 */
function ownClient(url: string, timeout: number, extra: MongoClientOptions | undefined): MongoClient {
  let driver: typeof import('mongodb');
  try {
    driver = require('mongodb') as typeof import('mongodb');
  } catch (err) {
    throw new HotsessionError(codes.OPTIONS, "MongoStore needs the 'mongodb' package (npm install mongodb) or a client", { cause: err });
  }
  // Fail fast while the server is away instead of the driver's 30 s, so
  // queued operations do not outlive the callers that timed out on them.
  const defaults: MongoClientOptions = {
    appName: 'hotsession',
    serverSelectionTimeoutMS: timeout,
    connectTimeoutMS: Math.max(timeout, 2000),
    socketTimeoutMS: Math.max(timeout * 10, 10_000),
  };
  return new driver.MongoClient(url, { ...defaults, ...extra });
}
