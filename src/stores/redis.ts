import type { Cluster, Redis } from 'ioredis';
import { debuglog } from 'node:util';
import { codec } from '../codec';
import { FRAME_MAGIC, KIND_FORWARD, KIND_PATCH, RECORD_HEADER, RECORD_VERSION } from '../codec/layout';
import { codes, HotsessionError, optionsError } from '../errors';
import { batchLimits, ReadBatcher, WriteBatcher, type WriteOp } from './batcher';
import { StoreProbe, type StoreStats } from './probe';
import { isClientLike, isCluster, readBatch, type ClientLike } from './redis/client';
import { decodeLegacy, maybeLegacy } from './redis/legacy';
import { malformedPatch, tooLarge } from './redis/outcome';
import { Outstanding } from './redis/outstanding';
import { canScript, ScriptWriter } from './redis/script';
import { TouchLog } from './redis/touch-log';
import { RedisUserIndex } from './redis/users';
import { WritePath } from './redis/write-path';
import type { DecodedRecord, PatchOutcome, SessionStore } from './types';
import type { RedisConnectOptions, RedisStoreOptions } from './redis/options';

export type { RedisConnectOptions, RedisStoreOptions } from './redis/options';

export { keySlot } from './redis/slot';

const debug = debuglog('hotsession');

/** Marks a client created by `connect()` (not part of the public options). */
const kOwned = Symbol('hotsession.redis.owned');

/**
 * Default batch cap on Redis. Smaller than the batcher's general default:
 * when many requests are in the same phase (their reads came back in one
 * MGET reply), the first 64 saves leave while the next ones are still being
 * prepared, so Redis works in parallel with this process instead of after
 * it (+30-50% sessions/s at 100 concurrent sessions on 2 cores), and each
 * script call holds the single-threaded server for a short time only.
 */
const REDIS_MAX_BATCH = 64;

/** Most ids whose last touch time is remembered for `touchAfter`. */
const TOUCH_LOG_MAX = 100_000;

/** Largest record Redis can hold (its proto-max-bulk-len default): the cap on `maxRecordSize`. */
const REDIS_MAX_BULK = 512 * 1024 * 1024;

type Read = Uint8Array | DecodedRecord;

/** True when `b` starts like a v2 PATCH (the write script checks the rest, on Redis). */
function isPatchHeader(b: Uint8Array): boolean {
  return b.length >= RECORD_HEADER && b[0] === FRAME_MAGIC && b[1] === RECORD_VERSION && b[2] === KIND_PATCH;
}

/**
 * Sessions in Redis (standalone or Cluster) through an ioredis client.
 *
 * Each session is one string key holding its per-key record (v2,
 * src/codec/layout.ts). A commit's patch is applied on Redis by a script,
 * atomically, to the record as it is then, so concurrent requests that
 * change different keys all keep their changes; a patch never recreates a
 * destroyed or expired session, and never writes over a FORWARD marker.
 *
 * Writes of one event-loop turn go out together, in batches of up to
 * `maxBatch`: on a standalone server each batch as one `EVALSHA` (see
 * `scripts`), otherwise as single-key commands in one socket write (one
 * write per node on a cluster, where every command holds one key so no
 * CROSSSLOT error can occur). Each write settles when Redis acknowledged its
 * own op, and an op Redis refused fails only its save. Reads of one turn go
 * out as one `MGET` per `maxBatch` ids (per slot on a cluster), and
 * concurrent reads of one id share a round trip. Values are stored and read
 * as binary Buffers.
 */
export class RedisStore implements SessionStore {
  /** The client commands go to. */
  readonly client: Redis | Cluster;
  /** Largest record in bytes this store writes (see {@link RedisStoreOptions.maxRecordSize}). */
  readonly maxRecordSize: number;
  /** The per-batch timeout, also each request's store-time budget (SessionStore.timeout). */
  readonly timeout: number;
  readonly #probe = new StoreProbe('redis');
  /** The per-user index (users' sessions): one hash per user, hash-tagged by the user id. */
  readonly users: RedisUserIndex;
  readonly #c: ClientLike;
  readonly #cluster: boolean;
  readonly #prefix: string;
  readonly #ttl: number | undefined;
  readonly #touches: TouchLog | null;
  readonly #legacy: boolean;
  readonly #owned: boolean;
  readonly #writes: WriteBatcher;
  readonly #reads: ReadBatcher<Read>;
  readonly #path: WritePath;
  readonly #out: Outstanding;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== 'object') throw optionsError('RedisStore needs options with a client');
    const { client, prefix = 'sess:', ttl, touchAfter = 0, legacy, scripts = true, maxRecordSize = 1_048_576 } = options;
    if (!isClientLike(client)) throw optionsError('RedisStore client must be an ioredis Redis or Cluster instance');
    if (typeof prefix !== 'string') throw optionsError('RedisStore prefix must be a string');
    if (ttl !== undefined && (!Number.isFinite(ttl) || ttl <= 0)) throw optionsError('RedisStore ttl must be a positive number of ms');
    if (!Number.isFinite(touchAfter) || touchAfter < 0) throw optionsError('RedisStore touchAfter must be a number of ms >= 0');
    if (legacy !== undefined && legacy !== 'read') throw optionsError("RedisStore legacy must be 'read' or undefined");
    if (typeof scripts !== 'boolean') throw optionsError('RedisStore scripts must be a boolean');
    if (!Number.isInteger(maxRecordSize) || maxRecordSize < 1024 || maxRecordSize > REDIS_MAX_BULK) {
      throw optionsError(`RedisStore maxRecordSize must be an integer number of bytes in [1024, ${REDIS_MAX_BULK}]`);
    }
    const limits = batchLimits({ ...options, maxBatch: options.maxBatch ?? REDIS_MAX_BATCH });
    this.client = client;
    this.maxRecordSize = maxRecordSize;
    this.timeout = limits.timeout;
    this.#c = client;
    this.#cluster = isCluster(client);
    this.#prefix = prefix;
    this.#ttl = ttl === undefined ? undefined : Math.ceil(ttl);
    this.#touches = touchAfter > 0 ? new TouchLog(touchAfter, TOUCH_LOG_MAX) : null;
    this.#legacy = legacy === 'read';
    this.#owned = (options as { [kOwned]?: boolean })[kOwned] === true;
    const script = scripts && canScript(client) ? new ScriptWriter(client, maxRecordSize) : null;
    this.#path = new WritePath(client, this.#cluster, script, maxRecordSize);
    this.users = new RedisUserIndex(client, prefix, script !== null);
    this.#out = new Outstanding(limits.maxPending);
    this.#writes = new WriteBatcher((ops) => this.#flush(ops), limits, this.#probe);
    this.#reads = new ReadBatcher((ids) => this.#fetch(ids), limits, this.#probe);
  }

  /**
   * Creates an ioredis client for `url` (ioredis is loaded only now) and a
   * store that owns it: `close()` quits the client.
   */
  static connect(url: string, options: RedisConnectOptions = {}): RedisStore {
    let ioredis: typeof import('ioredis');
    try {
      ioredis = require('ioredis') as typeof import('ioredis');
    } catch (err) {
      throw new HotsessionError(codes.OPTIONS, 'RedisStore.connect needs the ioredis package (npm install ioredis)', { cause: err });
    }
    const RedisClass = ioredis.Redis ?? ioredis.default;
    const { redis, ...rest } = options;
    const client = new RedisClass(url, { maxRetriesPerRequest: 1, ...redis });
    // The store owns this client: keep its connection errors out of stderr
    // (they reach callers as rejected operations).
    client.on('error', (err: Error) => debug('redis client error: %s', err.message));
    return new RedisStore({ ...rest, client, [kOwned]: true } as RedisStoreOptions);
  }

  /**
   * Operations not finished yet: writes waiting in the store's queue, plus
   * reads and writes handed to the client and not yet answered by Redis
   * (even those the store already gave up on after `timeout`). New
   * operations are refused while it is at `maxPending`.
   */
  get pending(): number {
    return this.#out.count + this.#writes.queued;
  }

  /** Counters since the store was built (see StoreStats). */
  stats(): StoreStats {
    return this.#probe.snapshot(this.pending);
  }

  get(id: string): Promise<Read | null> {
    // As MemcachedStore and MongoStore: a closed store says so, whoever owns the client.
    if (this.#closed) return Promise.reject(new HotsessionError(codes.STORE_CLOSED, 'the store is closed'));
    if (this.#busy()) return Promise.reject(this.#refused('session read'));
    return this.#reads.get(id);
  }

  set(id: string, record: Uint8Array, ttlMs: number): Promise<void> {
    if (record.byteLength > this.maxRecordSize) return Promise.reject(tooLarge('the session record', record.byteLength, this.maxRecordSize));
    if (this.#busy()) return Promise.reject(this.#refused('session write'));
    this.#touches?.note(id, Date.now());
    return this.#writes.set(id, record, ttlMs);
  }

  patch(id: string, patch: Uint8Array, ttlMs: number): Promise<PatchOutcome> {
    if (patch.byteLength > this.maxRecordSize) return Promise.reject(tooLarge('the session patch', patch.byteLength, this.maxRecordSize));
    if (!isPatchHeader(patch)) return Promise.reject(malformedPatch());
    if (this.#busy()) return Promise.reject(this.#refused('session write'));
    this.#touches?.note(id, Date.now());
    return this.#writes.patch(id, patch, ttlMs);
  }

  forward(id: string, marker: Uint8Array, graceMs: number): Promise<Read | null> {
    if (codec.scan(marker)?.kind !== KIND_FORWARD) {
      return Promise.reject(new HotsessionError(codes.ENCODE, 'forward needs a v2 FORWARD marker (src/codec/layout.ts)'));
    }
    if (this.#busy()) return Promise.reject(this.#refused('session write'));
    this.#touches?.forget(id);
    return this.#writes.forward(id, marker, graceMs) as Promise<Read | null>;
  }

  touch(id: string, ttlMs: number): Promise<void> | undefined {
    const log = this.#touches;
    const now = log === null ? 0 : Date.now();
    if (log !== null && log.fresh(id, now)) return undefined;
    if (this.#busy()) return Promise.reject(this.#refused('session write'));
    if (log === null) return this.#writes.touch(id, ttlMs);
    log.note(id, now);
    return this.#writes.touch(id, ttlMs).catch((err: unknown) => {
      // Not extended: let the next request try again.
      log.forget(id);
      throw err;
    });
  }

  destroy(id: string): Promise<void> {
    if (this.#busy()) return Promise.reject(this.#refused('session write'));
    this.#touches?.forget(id);
    return this.#writes.destroy(id);
  }

  /** Waits for queued writes; quits the client only when `connect()` created it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes.close();
    await this.#path.close();
    await this.users.close();
    if (this.#owned) await this.#c.quit().catch(() => undefined);
  }

  /**
   * True when no new operation may start: what the client holds plus the
   * writes queued to join it reach maxPending. Checked when an operation is
   * made, so a refusal is immediate; the flush and fetch check the client
   * alone again (reads of the same turn may have filled it meanwhile).
   */
  /** Refused at maxPending, counted and published like the batchers' refusals. */
  #refused(what: string): Error {
    const err = this.#out.refusal(what);
    this.#probe.failed(what.startsWith('session read') ? 'read' : 'write', 1, err);
    return err;
  }

  #busy(): boolean {
    return this.#out.count + this.#writes.queued >= this.#out.max;
  }

  #flush(all: WriteOp[]): Promise<ReadonlyArray<unknown> | void> {
    const room = this.#out.room;
    if (room === 0) return Promise.reject(this.#refused(`session write batch (${all.length} ops)`));
    const sent = this.#sendable(all, room);
    const ops = sent === null ? all : sent.map((i) => all[i]!);
    const done = ops.length === 0 ? Promise.resolve<ReadonlyArray<unknown> | void>(undefined) : this.#out.hold(ops.length, this.#send(ops));
    if (sent === null) return done;
    // Ops that did not go fail alone, once the others are answered (FlushWrites settles a batch as one).
    const refused: unknown[] = all.map((op) => (this.#tooLarge(op) ? tooLarge('the session record', op.bytes!.byteLength, this.maxRecordSize) : this.#out.refusal('session write')));
    return done.then((r) => {
      sent.forEach((i, j) => { refused[i] = r ? r[j] : undefined; });
      return refused;
    });
  }

  /**
   * Indexes of the ops that may go, or null when all may (the usual case):
   * at most `room` (the client holds the rest of maxPending), and no whole
   * record grown past maxRecordSize while queued (a patch folded into a set).
   */
  #sendable(all: readonly WriteOp[], room: number): number[] | null {
    let sent: number[] | null = null;
    let n = 0;
    for (let i = 0; i < all.length; i++) {
      const go = n < room && !this.#tooLarge(all[i]!);
      if (go) n++;
      if (!go && sent === null) sent = Array.from({ length: i }, (_, k) => k);
      else if (go && sent !== null) sent.push(i);
    }
    return sent;
  }

  #tooLarge(op: WriteOp): boolean {
    return op.kind === 'set' && op.bytes!.byteLength > this.maxRecordSize;
  }

  #send(ops: readonly WriteOp[]): Promise<ReadonlyArray<unknown> | void> {
    const n = ops.length;
    const keys = new Array<string>(n);
    const ttls = new Array<number>(n);
    let forwards = false;
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      keys[i] = this.#prefix + op.id;
      // PX takes a positive integer; a fraction or 0 would be a syntax error.
      // A forward's grace is the core's, never the store's `ttl`.
      const ms = Math.max(1, Math.ceil(op.ttlMs));
      if (op.kind === 'forward') forwards = true;
      ttls[i] = op.kind === 'forward' || this.#ttl === undefined ? ms : Math.min(ms, this.#ttl);
    }
    const done = this.#path.send(keys, ops, ttls);
    return forwards && this.#legacy ? done.then((r) => this.#decodeForwards(ops, r)) : done;
  }

  /** A forward returns what the key held, read as `get` reads it. */
  #decodeForwards(ops: readonly WriteOp[], results: ReadonlyArray<unknown> | void): ReadonlyArray<unknown> | void {
    if (!results) return results;
    const now = Date.now();
    return results.map((r, i) => (ops[i]!.kind === 'forward' && Buffer.isBuffer(r) && maybeLegacy(r) ? decodeLegacy(r, now) ?? r : r));
  }

  #fetch(ids: string[]): Promise<Array<Read | null | Error>> {
    const room = this.#out.room;
    if (room === 0) return Promise.reject(this.#refused(`session read batch (${ids.length} ids)`));
    const n = Math.min(room, ids.length);
    const keys = new Array<string>(n);
    for (let i = 0; i < n; i++) keys[i] = this.#prefix + ids[i]!;
    return this.#out.hold(n, readBatch(this.#c, this.#cluster, keys)).then((got) => {
      const values: Array<Read | null | Error> = got;
      if (this.#legacy) {
        const now = Date.now();
        for (let i = 0; i < n; i++) {
          const v = values[i];
          if (Buffer.isBuffer(v) && maybeLegacy(v)) values[i] = decodeLegacy(v, now) ?? v;
        }
      }
      // Past the cap: these ids were not asked for.
      for (let i = n; i < ids.length; i++) values[i] = this.#out.refusal('session read');
      return values;
    });
  }
}
