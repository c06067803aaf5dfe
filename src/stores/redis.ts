import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { debuglog } from 'node:util';
import { codec } from '../codec';
import { FRAME_MAGIC, KIND_FORWARD, KIND_PATCH, RECORD_HEADER, RECORD_VERSION } from '../codec/layout';
import { codes, HotsessionError, optionsError } from '../errors';
import { batchLimits, ReadBatcher, WriteBatcher, type BatchOptions, type WriteOp } from './batcher';
import { isClientLike, isCluster, readBatch, type ClientLike } from './redis/client';
import { decodeLegacy, maybeLegacy } from './redis/legacy';
import { malformedPatch, tooLarge } from './redis/outcome';
import { Outstanding } from './redis/outstanding';
import { canScript, ScriptWriter } from './redis/script';
import { TouchLog } from './redis/touch-log';
import { WritePath } from './redis/write-path';
import type { DecodedRecord, PatchOutcome, SessionStore } from './types';

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
 * Options of {@link RedisStore}.
 *
 * The store bounds every operation itself (`timeout`, `maxPending`), but
 * the client's own settings decide what happens to commands while Redis is
 * unreachable. For a service that should answer 503 quickly and recover on
 * its own, create the client with:
 *
 * ```js
 * new Redis(url, { maxRetriesPerRequest: 1 })        // queued commands fail after one reconnect attempt
 * new Redis(url, { enableOfflineQueue: false })      // commands fail at once while disconnected
 *                                                    // (then wait for 'ready' before serving)
 * ```
 *
 * With ioredis' defaults (20 retries, offline queue on) requests still fail
 * within `timeout`, but the commands stay queued in the client and may be
 * applied late when Redis returns. Either way ioredis reconnects by itself,
 * so the store works again without a restart. Listen for the client's
 * `error` events (ioredis prints them otherwise).
 */
export interface RedisStoreOptions extends BatchOptions {
  /** An ioredis `Redis` or `Cluster` instance. The store never closes a client it did not create. */
  client: Redis | Cluster;
  /**
   * Key prefix. Use connect-redis' prefix (its default is the same) to read
   * its records with `legacy: 'read'`. On a cluster, a hash tag in the
   * prefix (`sess:{app}:`) puts every session in one slot, so the reads of a
   * turn go as one MGET, at the price of one node holding every session.
   * @default 'sess:'
   */
  prefix?: string;
  /**
   * Lifetime in ms Redis gives each record, overriding the one the session
   * manager asks for (the cookie's maxAge or the manager's `ttl`).
   * @default undefined (the manager's)
   */
  ttl?: number;
  /**
   * Skip a `touch` (rolling sessions) while this process extended the same
   * session less than this many ms ago; a save counts as an extension.
   * 0 sends every touch.
   * @default 0
   */
  touchAfter?: number;
  /**
   * `'read'`: also read records connect-redis wrote (JSON) under the same
   * prefix; they are replaced by a hotsession record at their next save.
   * @default undefined (hotsession records only)
   */
  legacy?: 'read';
  /**
   * Apply writes with a small Lua script (see src/stores/redis/lua.ts). On a
   * standalone server each write batch is one `EVALSHA` (SET PX / PEXPIRE /
   * DEL / patch / forward per key, each with its own outcome); on a Cluster
   * each patch and forward is an `EVALSHA` of its one key, sent with the
   * batch's other commands.
   *
   * `false` (or a server where Lua is disabled or forbidden by ACLs: a
   * refused script is detected, that batch resent, and scripts stay off)
   * sends single commands, and applies patches and forwards as optimistic
   * WATCH/MULTI/EXEC transactions on a second connection of the store's own:
   * just as atomic (no lost update, no resurrection), at two round trips per
   * batch instead of one and more CPU in this process.
   * @default true
   */
  scripts?: boolean;
  /**
   * Largest batch (writes, or ids in one MGET); a batch that reaches it
   * flushes at once.
   * @default 64
   */
  maxBatch?: number;
  /**
   * Most operations at once, reads and writes alike: writes queued in the
   * store plus operations handed to the client and not yet answered by
   * Redis. A command the store gave up on (`timeout`) still counts until the
   * client settles it, so while Redis hangs (a network partition) memory
   * stays bounded: past the cap, operations fail at once with
   * HOTSESSION_ERR_QUEUE_FULL. See {@link RedisStore.pending}.
   * @default 10_000
   */
  maxPending?: number;
  /**
   * Largest record in bytes. A `set` or a `patch` larger than it fails with
   * HOTSESSION_ERR_RECORD_TOO_LARGE before anything is sent, and so does a
   * patch whose result on Redis would be larger (checked where the patch is
   * applied: nothing is written). The session manager reads it to refuse
   * such a save early.
   * @default 1_048_576 (1 MiB)
   */
  maxRecordSize?: number;
}

/** Options of {@link RedisStore.connect}. */
export interface RedisConnectOptions extends Omit<RedisStoreOptions, 'client'> {
  /**
   * ioredis options for the client the store creates.
   * @default { maxRetriesPerRequest: 1 }
   */
  redis?: RedisOptions;
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
    this.#c = client;
    this.#cluster = isCluster(client);
    this.#prefix = prefix;
    this.#ttl = ttl === undefined ? undefined : Math.ceil(ttl);
    this.#touches = touchAfter > 0 ? new TouchLog(touchAfter, TOUCH_LOG_MAX) : null;
    this.#legacy = legacy === 'read';
    this.#owned = (options as { [kOwned]?: boolean })[kOwned] === true;
    const script = scripts && canScript(client) ? new ScriptWriter(client, maxRecordSize) : null;
    this.#path = new WritePath(client, this.#cluster, script, maxRecordSize);
    this.#out = new Outstanding(limits.maxPending);
    this.#writes = new WriteBatcher((ops) => this.#flush(ops), limits);
    this.#reads = new ReadBatcher((ids) => this.#fetch(ids), limits);
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

  get(id: string): Promise<Read | null> {
    if (this.#busy()) return Promise.reject(this.#out.refusal('session read'));
    return this.#reads.get(id);
  }

  set(id: string, record: Uint8Array, ttlMs: number): Promise<void> {
    if (record.byteLength > this.maxRecordSize) return Promise.reject(tooLarge('the session record', record.byteLength, this.maxRecordSize));
    if (this.#busy()) return Promise.reject(this.#out.refusal('session write'));
    this.#touches?.note(id, Date.now());
    return this.#writes.set(id, record, ttlMs);
  }

  patch(id: string, patch: Uint8Array, ttlMs: number): Promise<PatchOutcome> {
    if (patch.byteLength > this.maxRecordSize) return Promise.reject(tooLarge('the session patch', patch.byteLength, this.maxRecordSize));
    if (!isPatchHeader(patch)) return Promise.reject(malformedPatch());
    if (this.#busy()) return Promise.reject(this.#out.refusal('session write'));
    this.#touches?.note(id, Date.now());
    return this.#writes.patch(id, patch, ttlMs);
  }

  forward(id: string, marker: Uint8Array, graceMs: number): Promise<Read | null> {
    if (codec.scan(marker)?.kind !== KIND_FORWARD) {
      return Promise.reject(new HotsessionError(codes.ENCODE, 'forward needs a v2 FORWARD marker (src/codec/layout.ts)'));
    }
    if (this.#busy()) return Promise.reject(this.#out.refusal('session write'));
    this.#touches?.forget(id);
    return this.#writes.forward(id, marker, graceMs) as Promise<Read | null>;
  }

  touch(id: string, ttlMs: number): Promise<void> | undefined {
    if (this.#busy()) return Promise.reject(this.#out.refusal('session write'));
    const log = this.#touches;
    if (log === null) return this.#writes.touch(id, ttlMs);
    const now = Date.now();
    if (log.fresh(id, now)) return undefined;
    log.note(id, now);
    return this.#writes.touch(id, ttlMs).catch((err: unknown) => {
      // Not extended: let the next request try again.
      log.forget(id);
      throw err;
    });
  }

  destroy(id: string): Promise<void> {
    if (this.#busy()) return Promise.reject(this.#out.refusal('session write'));
    this.#touches?.forget(id);
    return this.#writes.destroy(id);
  }

  /** Waits for queued writes; quits the client only when `connect()` created it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes.close();
    await this.#path.close();
    if (this.#owned) await this.#c.quit().catch(() => undefined);
  }

  /**
   * True when no new operation may start: what the client holds plus the
   * writes queued to join it reach maxPending. Checked when an operation is
   * made, so a refusal is immediate; the flush and fetch check the client
   * alone again (reads of the same turn may have filled it meanwhile).
   */
  #busy(): boolean {
    return this.#out.count + this.#writes.queued >= this.#out.max;
  }

  #flush(all: WriteOp[]): Promise<ReadonlyArray<unknown> | void> {
    const room = this.#out.room;
    if (room === 0) return Promise.reject(this.#out.refusal(`session write batch (${all.length} ops)`));
    // Usually every op goes; past the cap, or for a record grown past
    // maxRecordSize in the queue (a patch folded into a queued set), some fail here.
    let ops = all;
    let sent: number[] | null = null;
    for (let i = 0; i < all.length; i++) {
      const op = all[i]!;
      const refused = i >= room || (op.kind === 'set' && op.bytes!.byteLength > this.maxRecordSize);
      if (refused && sent === null) sent = Array.from({ length: i }, (_, k) => k);
      else if (!refused && sent !== null) sent.push(i);
    }
    if (sent !== null) ops = sent.map((i) => all[i]!);
    const n = ops.length;
    const keys = new Array<string>(n);
    const ttls = new Array<number>(n);
    let forwards = false;
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      keys[i] = this.#prefix + op.id;
      // PX takes a positive integer; a fraction or 0 would be a syntax error.
      ttls[i] = op.kind === 'forward' ? Math.max(1, Math.ceil(op.ttlMs)) : this.#ttl ?? Math.max(1, Math.ceil(op.ttlMs));
      if (op.kind === 'forward') forwards = true;
    }
    let done = n === 0 ? Promise.resolve<ReadonlyArray<unknown> | void>(undefined) : this.#out.hold(n, this.#path.send(keys, ops, ttls));
    if (forwards && this.#legacy) done = done.then((r) => this.#decodeForwards(ops, r));
    if (sent === null) return done;
    const picked = sent;
    return done.then((r) => {
      const out = new Array<unknown>(all.length);
      for (let i = 0; i < all.length; i++) {
        const op = all[i]!;
        out[i] = op.kind === 'set' && op.bytes!.byteLength > this.maxRecordSize
          ? tooLarge('the session record', op.bytes!.byteLength, this.maxRecordSize)
          : this.#out.refusal('session write');
      }
      picked.forEach((i, j) => { out[i] = r ? r[j] : undefined; });
      return out;
    });
  }

  /** A forward returns what the key held, read as `get` reads it. */
  #decodeForwards(ops: readonly WriteOp[], results: ReadonlyArray<unknown> | void): ReadonlyArray<unknown> | void {
    if (!results) return results;
    const now = Date.now();
    return results.map((r, i) => (ops[i]!.kind === 'forward' && Buffer.isBuffer(r) && maybeLegacy(r) ? decodeLegacy(r, now) ?? r : r));
  }

  #fetch(ids: string[]): Promise<Array<Read | null | Error>> {
    const room = this.#out.room;
    if (room === 0) return Promise.reject(this.#out.refusal(`session read batch (${ids.length} ids)`));
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
