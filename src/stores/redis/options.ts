import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { BatchOptions } from '../batcher';

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
   * Longest lifetime (ms) Redis gives a record, whatever the session asks
   * (its cookie's maxAge, or the manager's `ttl`): a cap, never an
   * extension, with the same meaning in every hotsession store.
   * @default undefined (the session's own lifetime)
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
   * batch instead of one, more CPU in this process (it applies the patches)
   * and less of Redis' (in bench/stores-redis.mjs, about 15 against 7 µs of
   * this process per session and 3 against 7 µs of redis-server's), and
   * retries when another client writes a session of the batch meanwhile.
   * Consider it where one Redis serves so many app processes that its single
   * core is the limit and sessions are rarely written concurrently.
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
