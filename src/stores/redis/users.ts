import { debuglog } from 'node:util';
import { codes, HotsessionError } from '../../errors';
import type { UserIndex } from '../types';
import { isScriptRefused } from './script';

const debug = debuglog('hotsession');

/**
 * The per-user index on Redis: one hash per user,
 *
 *   <prefix>u:{<user id>}   field = session handle, value = the core's entry
 *
 * The user id is the key's hash tag, so on a Cluster the whole index lives
 * on one slot and every operation below is single-key (never CROSSSLOT).
 * Listing is one HGETALL of that key: nothing scans the keyspace.
 *
 * Each operation is atomic on its own:
 * - put:    HSET, then the key's TTL raised to at least `ttl`, then HLEN;
 *           a script, or without scripts MULTI/EXEC with PEXPIRE NX + GT
 *           (Redis 7), which needs no WATCH (nothing is read first);
 * - remove: HDEL only when the field still names the given session id
 *           (a regenerate may have moved it to a new id meanwhile); a
 *           script, or without scripts WATCH/HGET/MULTI/HDEL/EXEC on a
 *           connection of its own, retried when the field changed.
 */

const PUT = `redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local want = tonumber(ARGV[3])
local left = redis.call('PTTL', KEYS[1])
if left < want then redis.call('PEXPIRE', KEYS[1], want) end
return redis.call('HLEN', KEYS[1])`;

const REMOVE = `local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local sid = ARGV[2]
if sid ~= '' and string.sub(v, 1, #sid + 1) ~= sid .. '\\n' then return 0 end
return redis.call('HDEL', KEYS[1], ARGV[1])`;

/** What a script call answers when Redis refuses scripts (the caller then goes without). */
const NO_SCRIPT: unique symbol = Symbol('no script');

/** Rounds of WATCH/EXEC before a scriptless remove gives up. */
const TRIES = 12;

interface Multi {
  hset(key: string, field: string, value: string): Multi;
  pexpire(key: string, ms: number, mode: 'NX' | 'GT'): Multi;
  hlen(key: string): Multi;
  hdel(key: string, field: string): Multi;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/** What the index needs from an ioredis Redis or Cluster. */
export interface UsersClient {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  hgetall(key: string): Promise<Record<string, string>>;
  hget(key: string, field: string): Promise<string | null>;
  watch(key: string): Promise<unknown>;
  unwatch(): Promise<unknown>;
  multi(): Multi;
  duplicate(): UsersClient;
  quit(): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

function failed(what: string, replies: Array<[Error | null, unknown]> | null): unknown {
  if (replies === null) throw new HotsessionError(codes.STORE, `${what}: the transaction was discarded`);
  for (const [err] of replies) if (err) throw new HotsessionError(codes.STORE, `${what} failed: ${err.message}`, { cause: err });
  return replies[replies.length - 1]![1];
}

export class RedisUserIndex implements UserIndex {
  readonly #c: UsersClient;
  readonly #prefix: string;
  #scripts: boolean;
  /** The WATCH connection of scriptless removes (opened on first use), and the chain that keeps them one at a time. */
  #lane: UsersClient | null = null;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(client: unknown, prefix: string, scripts: boolean) {
    this.#c = client as UsersClient;
    this.#prefix = prefix;
    this.#scripts = scripts && typeof this.#c.eval === 'function';
  }

  /** The index key of `userId` (its hash tag is the user id). */
  key(userId: string): string {
    return `${this.#prefix}u:{${userId}}`;
  }

  async #script(script: string, key: string, args: Array<string | number>): Promise<unknown | typeof NO_SCRIPT> {
    try {
      return await this.#c.eval(script, 1, key, ...args);
    } catch (err) {
      if (!isScriptRefused(err)) throw err;
      debug('redis refused the users index script (%s); using MULTI and WATCH', (err as Error).message);
      this.#scripts = false;
      return NO_SCRIPT;
    }
  }

  async put(userId: string, handle: string, entry: string, ttlMs: number): Promise<number> {
    const key = this.key(userId);
    const ttl = Math.max(1, Math.ceil(ttlMs));
    if (this.#scripts) {
      const r = await this.#script(PUT, key, [handle, entry, ttl]);
      if (r !== NO_SCRIPT) return Number(r);
    }
    const m = this.#c.multi().hset(key, handle, entry).pexpire(key, ttl, 'NX').pexpire(key, ttl, 'GT').hlen(key);
    return Number(failed('the users index put', await m.exec()));
  }

  async list(userId: string): Promise<Array<[string, string]>> {
    return Object.entries(await this.#c.hgetall(this.key(userId)));
  }

  async remove(userId: string, handle: string, sid?: string): Promise<void> {
    const key = this.key(userId);
    if (this.#scripts) {
      const r = await this.#script(REMOVE, key, [handle, sid ?? '']);
      if (r !== NO_SCRIPT) return;
    }
    const run = this.#chain.then(() => this.#watchRemove(key, handle, sid));
    this.#chain = run.catch(() => undefined);
    await run;
  }

  async #watchRemove(key: string, handle: string, sid: string | undefined): Promise<void> {
    const c = (this.#lane ??= this.#openLane());
    for (let i = 0; i < TRIES; i++) {
      await c.watch(key);
      const v = await c.hget(key, handle);
      if (v === null || (sid !== undefined && !v.startsWith(sid + '\n'))) {
        await c.unwatch();
        return;
      }
      // Null: the field changed between HGET and EXEC; read it again.
      if ((await c.multi().hdel(key, handle).exec()) !== null) return;
    }
    throw new HotsessionError(codes.STORE, `a users index entry kept changing during ${TRIES} WATCH/MULTI rounds; it was not removed`);
  }

  #openLane(): UsersClient {
    const lane = this.#c.duplicate();
    lane.on('error', (err: Error) => debug('redis users index connection error: %s', err.message));
    return lane;
  }

  /** Closes the WATCH connection, if one was opened. */
  async close(): Promise<void> {
    const lane = this.#lane;
    this.#lane = null;
    if (lane !== null) await lane.quit().catch(() => undefined);
  }
}
