import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { debuglog } from 'node:util';
import { codes, HotsessionError, optionsError } from '../errors';
import { ReadBatcher, WriteBatcher, type BatchOptions, type WriteOp } from './batcher';
import { isClientLike, isCluster, readBatch, writeBatch, type ClientLike } from './redis/client';
import { decodeLegacy, maybeLegacy } from './redis/legacy';
import { canScript, isScriptRefused, ScriptWriter } from './redis/script';
import { TouchLog } from './redis/touch-log';
import type { DecodedRecord, SessionStore } from './types';

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

/**
 * Options of {@link RedisStore}.
 *
 * The store bounds every operation itself (`timeout`), but the client's own
 * settings decide what happens to commands while Redis is unreachable. For a
 * service that should answer 503 quickly and recover on its own, create the
 * client with:
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
   * prefix; they are rewritten in hotsession's format at their next save.
   * @default undefined (frames only)
   */
  legacy?: 'read';
  /**
   * Standalone Redis: send each write batch as one `EVALSHA` of a small Lua
   * script (SET PX / PEXPIRE / DEL per key, each with its own outcome)
   * instead of one command per write. This takes this process' CPU per
   * session (get + set) from about 10 to about 5-6 µs, but Redis' from
   * about 2.5 to about 3.5 µs (the script's own calls): keep it where the
   * app's CPU is what runs out, and consider `false` where one Redis serves
   * so many app processes that its single core is the limit.
   *
   * `false` also suits servers where Lua is disabled or forbidden by ACLs
   * (a refused script is detected anyway: that batch is resent as single
   * commands, and scripts stay off). Ignored on a Cluster, where a script's
   * keys would have to share a slot: there, batches are always single
   * commands, one socket write per node.
   * @default true
   */
  scripts?: boolean;
  /**
   * Largest batch (writes, or ids in one MGET); a batch that reaches it
   * flushes at once.
   * @default 64
   */
  maxBatch?: number;
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
 * Writes of one event-loop turn go out together, in batches of up to
 * `maxBatch`: on a standalone server each batch as
 * one `EVALSHA` of a script applying `SET key value PX ttl` / `PEXPIRE` /
 * `DEL` per key (see `scripts`), otherwise as single-key commands in one
 * socket write (one write per node on a cluster, where every command holds
 * one key so no CROSSSLOT error can occur). Each `set` settles when Redis
 * acknowledged its own write, and a write Redis refused fails only its save.
 * Reads of one turn go out as one `MGET` per `maxBatch` ids (per slot on a cluster), and
 * concurrent reads of one id share a round trip. Values are the core's
 * framed records, stored and read as binary Buffers.
 */
export class RedisStore implements SessionStore {
  /** The client commands go to. */
  readonly client: Redis | Cluster;
  readonly #c: ClientLike;
  readonly #cluster: boolean;
  readonly #prefix: string;
  readonly #ttl: number | undefined;
  readonly #touches: TouchLog | null;
  readonly #legacy: boolean;
  readonly #owned: boolean;
  readonly #writes: WriteBatcher;
  readonly #reads: ReadBatcher<Uint8Array | DecodedRecord>;
  /** Null on a cluster, with `scripts: false`, or once the server refused scripts. */
  #script: ScriptWriter | null;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== 'object') throw optionsError('RedisStore needs options with a client');
    const { client, prefix = 'sess:', ttl, touchAfter = 0, legacy, scripts = true } = options;
    if (!isClientLike(client)) throw optionsError('RedisStore client must be an ioredis Redis or Cluster instance');
    if (typeof prefix !== 'string') throw optionsError('RedisStore prefix must be a string');
    if (ttl !== undefined && (!Number.isFinite(ttl) || ttl <= 0)) throw optionsError('RedisStore ttl must be a positive number of ms');
    if (!Number.isFinite(touchAfter) || touchAfter < 0) throw optionsError('RedisStore touchAfter must be a number of ms >= 0');
    if (legacy !== undefined && legacy !== 'read') throw optionsError("RedisStore legacy must be 'read' or undefined");
    if (typeof scripts !== 'boolean') throw optionsError('RedisStore scripts must be a boolean');
    this.client = client;
    this.#c = client;
    this.#cluster = isCluster(client);
    this.#prefix = prefix;
    this.#ttl = ttl === undefined ? undefined : Math.ceil(ttl);
    this.#touches = touchAfter > 0 ? new TouchLog(touchAfter, TOUCH_LOG_MAX) : null;
    this.#legacy = legacy === 'read';
    this.#script = scripts && !this.#cluster && canScript(client) ? new ScriptWriter(client) : null;
    this.#owned = (options as { [kOwned]?: boolean })[kOwned] === true;
    const limits: BatchOptions = { ...options, maxBatch: options.maxBatch ?? REDIS_MAX_BATCH };
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

  get(id: string): Promise<Uint8Array | DecodedRecord | null> {
    return this.#reads.get(id);
  }

  set(id: string, record: Uint8Array, ttlMs: number): Promise<void> {
    this.#touches?.note(id, Date.now());
    return this.#writes.set(id, record, ttlMs);
  }

  touch(id: string, ttlMs: number): Promise<void> | undefined {
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
    this.#touches?.forget(id);
    return this.#writes.destroy(id);
  }

  /** Waits for queued writes; quits the client only when `connect()` created it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes.close();
    if (this.#owned) await this.#c.quit().catch(() => undefined);
  }

  #flush(ops: WriteOp[]): Promise<ReadonlyArray<unknown> | void> {
    const keys = new Array<string>(ops.length);
    const ttls = new Array<number>(ops.length);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      keys[i] = this.#prefix + op.id;
      // PX takes a positive integer; a fraction or 0 would be a syntax error.
      ttls[i] = this.#ttl ?? Math.max(1, Math.ceil(op.ttlMs));
    }
    const script = this.#script;
    // One op: a plain command is cheaper than a script call.
    if (script === null || ops.length === 1) return writeBatch(this.#c, this.#cluster, keys, ops, ttls);
    return script.write(keys, ops, ttls).catch((err: unknown) => {
      if (!isScriptRefused(err)) throw err;
      // Nothing ran: send this batch and the next ones as single commands.
      debug('redis refused the write script (%s); using single commands', (err as Error).message);
      if (this.#script === script) this.#script = null;
      return writeBatch(this.#c, this.#cluster, keys, ops, ttls);
    });
  }

  async #fetch(ids: string[]): Promise<Array<Uint8Array | DecodedRecord | null | Error>> {
    const keys = ids.map((id) => this.#prefix + id);
    const values: Array<Uint8Array | DecodedRecord | null | Error> = await readBatch(this.#c, this.#cluster, keys);
    if (this.#legacy) {
      const now = Date.now();
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (Buffer.isBuffer(v) && maybeLegacy(v)) values[i] = decodeLegacy(v, now) ?? v;
      }
    }
    return values;
  }
}
