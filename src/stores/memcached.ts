import type { Client } from 'memjs';
import { codec } from '../codec';
import { FLAG_CLEAR, KIND_FORWARD, KIND_PATCH } from '../codec/layout';
import { codes, HotsessionError, optionsError } from '../errors';
import { batchLimits, ReadBatcher, WriteBatcher, type BatchOptions, type WriteOp } from './batcher';
import { burst } from './memcached/burst';
import { StoreProbe, type StoreStats } from './probe';
import { gets, STATUS_NOT_FOUND, STATUS_OK } from './memcached/cas';
import { memcachedExpiry } from './memcached/expiry';
import { held } from './memcached/held';
import { decodeLegacy } from './memcached/legacy';
import { ClientPool } from './memcached/pool';
import { swap, type Decision, type SwapOp } from './memcached/swap';
import { Versions } from './memcached/versions';
import type { DecodedRecord, PatchOutcome, SessionStore } from './types';
import { MemcachedUserIndex } from './memcached/users';

export { memcachedExpiry, MAX_RELATIVE_SECONDS } from './memcached/expiry';

/** Options of {@link MemcachedStore}. */
export interface MemcachedStoreOptions extends BatchOptions {
  /**
   * A memjs client to use (the store then uses only this one and never closes it).
   * Create it with `retries: 0` so a failing server is reported at once.
   */
  client?: Client;
  /**
   * Servers as memjs reads them: `"host:port,host:port"` (optionally
   * `user:pass@host:port` for SASL). Keys are spread over the servers by hash.
   * @default "127.0.0.1:11211"
   */
  servers?: string;
  /**
   * Key prefix, so several apps (or stores) can share one memcached.
   * @default "sess:"
   */
  prefix?: string;
  /**
   * Longest lifetime (ms) memcached gives a record, whatever the session
   * asks (its cookie's maxAge, or the manager's `ttl`): a cap, never an
   * extension, with the same meaning in every hotsession store.
   * @default undefined (the session's own lifetime)
   */
  ttl?: number;
  /**
   * memjs clients (each one socket per server) used round-robin, one per batch.
   * Ignored when `client` is given.
   * @default 2
   */
  pool?: number;
  /**
   * `'read'`: also read records connect-memcached wrote (express-session JSON),
   * so an app moving from express-session keeps its logged-in users. Such a
   * session is rewritten in hotsession's format the next time it changes.
   * @default undefined (hotsession records only)
   */
  legacy?: 'read';
  /**
   * Largest item the servers accept (memcached's `-I`, 1 MiB unless changed).
   * A record that would not fit, with its key and memcached's per-item header,
   * fails with HOTSESSION_ERR_RECORD_TOO_LARGE before anything is sent.
   * @default 1_048_576
   */
  maxValueSize?: number;
  /**
   * Largest record (bytes) the store writes: a `set`, a patch, or the record
   * a patch would produce, larger than this fails with
   * HOTSESSION_ERR_RECORD_TOO_LARGE and nothing of it is written. The core
   * reads it as `store.maxRecordSize`. It cannot exceed what `maxValueSize`
   * leaves for a record under this prefix and a generated 32-character id;
   * lower it to cap sessions below memcached's item size.
   * @default maxValueSize - prefix bytes - 32 - 64 (1,048,475 with the defaults)
   */
  maxRecordSize?: number;
  /**
   * How many ids keep the value and CAS of their last read, so the patch that
   * follows a session's load is one compare-and-swap instead of a read and a
   * swap. 0 turns it off (every patch reads first).
   * @default 4096
   */
  casCache?: number;
  /**
   * Send a failing server's keys to the next server for a while (memjs
   * failover). Off by default: sessions would then live on two servers and a
   * user could flip between two versions of one session.
   * @default false
   */
  failover?: boolean;
}

/** memcached's longest key, in bytes (binary protocol). */
const MAX_KEY_BYTES = 250;
/** Length of the ids the core generates (core/id.ts), for the default maxRecordSize. */
const ID_LENGTH = 32;
/**
 * Bytes memcached adds to each item besides key and value: its item header
 * (48), CAS (8), the key's terminator and the value's CRLF, rounded up.
 */
const ITEM_OVERHEAD = 64;

type Read = Uint8Array | DecodedRecord;

function asError(err: unknown): Error {
  if (err instanceof Error) {
    // memjs reports E2BIG (status 3) only through its message.
    if (/value too large/i.test(err.message)) return new HotsessionError(codes.RECORD_TOO_LARGE, 'memcached refused the record: larger than its item size limit (-I)', { cause: err });
    return err;
  }
  return new Error(String(err));
}

/**
 * Session records in memcached, through memjs.
 *
 * Writes of one event-loop turn go out as one burst on one connection per
 * server (pipelined, one result per op); reads of one id in flight share one
 * round trip, and the reads of a turn go out as one burst too (memjs has no
 * multi-get). Records are stored as they are framed, with memcached's own
 * expiry set from the session's lifetime (rounded up to whole seconds).
 *
 * Patches and forwards are compare-and-swaps (memcached/swap.ts): read the
 * item with its CAS, apply the patch to the bytes, store them only if the
 * CAS is unchanged, retry a bounded number of times with jitter when another
 * process wrote in between. The CAS of each read is remembered (casCache),
 * so the patch after a session's load usually costs one round trip. A swap
 * never creates an item: a patch to a destroyed or expired session writes
 * nothing.
 *
 * A server that is down fails its requests at once (connection refused) or
 * after `timeout`; the store reconnects on the next request, so a restarted
 * memcached is used again without a restart of the app.
 */
export class MemcachedStore implements SessionStore {
  /** The per-user index (users' sessions): one CAS-updated item per user. */
  readonly users: MemcachedUserIndex;
  readonly #pool: ClientPool;
  readonly #prefix: string;
  readonly #prefixBytes: number;
  readonly #ttl: number | undefined;
  readonly #legacy: boolean;
  readonly #maxValueSize: number;
  readonly #maxRecordSize: number;
  readonly #versions: Versions;
  readonly #timeout: number;
  readonly #probe = new StoreProbe('memcached');
  readonly #writer: WriteBatcher;
  readonly #reader: ReadBatcher<Read>;
  #closed = false;

  constructor(options: MemcachedStoreOptions = {}) {
    if (options === null || typeof options !== 'object') throw optionsError('MemcachedStore options must be an object');
    const limits = batchLimits(options);
    const prefix = options.prefix ?? 'sess:';
    if (typeof prefix !== 'string' || /[\s\x00-\x1f\x7f]/.test(prefix)) throw optionsError('prefix must be a string without spaces or control characters');
    const ttl = options.ttl;
    if (ttl !== undefined && (!Number.isFinite(ttl) || ttl <= 0)) throw optionsError('ttl must be a positive number of ms');
    if (options.legacy !== undefined && options.legacy !== 'read') throw optionsError("legacy must be 'read' or undefined");
    const maxValueSize = options.maxValueSize ?? 1_048_576;
    if (!Number.isInteger(maxValueSize) || maxValueSize < 1024) throw optionsError('maxValueSize must be an integer >= 1024 (bytes)');
    this.#prefix = prefix;
    this.users = new MemcachedUserIndex(() => this.#pool.next(), prefix);
    this.#prefixBytes = Buffer.byteLength(prefix);
    if (this.#prefixBytes > MAX_KEY_BYTES - 32) throw optionsError(`prefix must be at most ${MAX_KEY_BYTES - 32} bytes (memcached keys are at most ${MAX_KEY_BYTES})`);
    this.#ttl = ttl;
    this.#legacy = options.legacy === 'read';
    this.#maxValueSize = maxValueSize;
    // The largest record a generated id's item can hold; custom (longer) ids are checked per key as well.
    const fits = maxValueSize - this.#prefixBytes - ID_LENGTH - ITEM_OVERHEAD;
    const maxRecordSize = options.maxRecordSize ?? fits;
    if (!Number.isInteger(maxRecordSize) || maxRecordSize < 64) throw optionsError('maxRecordSize must be an integer >= 64 (bytes)');
    if (maxRecordSize > fits) throw optionsError(`maxRecordSize ${maxRecordSize} does not fit memcached items of maxValueSize ${maxValueSize} (at most ${fits} bytes with this prefix): raise maxValueSize (and memcached's -I) too`);
    this.#maxRecordSize = maxRecordSize;
    const casCache = options.casCache ?? 4096;
    if (!Number.isInteger(casCache) || casCache < 0) throw optionsError('casCache must be a non-negative integer');
    this.#versions = new Versions(casCache);
    this.#timeout = limits.timeout;
    this.#pool = new ClientPool({
      client: options.client,
      servers: options.client === undefined ? options.servers ?? '127.0.0.1:11211' : undefined,
      size: options.pool ?? 2,
      timeout: limits.timeout,
      failover: options.failover === true,
    });
    this.#writer = new WriteBatcher((ops) => this.#flush(ops), limits, this.#probe);
    this.#reader = new ReadBatcher<Read>((ids) => this.#fetch(ids), limits, this.#probe);
  }

  /** Writes waiting for or in flight to memcached. */
  get pending(): number {
    return this.#writer.pending;
  }

  /** The per-batch timeout, also each request's store-time budget (SessionStore.timeout). */
  get timeout(): number {
    return this.#timeout;
  }

  /** Counters since the store was built (see StoreStats). */
  stats(): StoreStats {
    return this.#probe.snapshot(this.#writer.pending);
  }

  /** Largest record the store writes (see the option). */
  get maxRecordSize(): number {
    return this.#maxRecordSize;
  }

  get(id: string): Read | null | Promise<Read | null> {
    if (this.#closed) return Promise.reject(new HotsessionError(codes.STORE_CLOSED, 'the store is closed'));
    // An id memcached cannot hold as a key was never stored: not found.
    if (!this.#keyFits(id)) return null;
    return this.#reader.get(id);
  }

  set(id: string, record: Uint8Array, ttlMs: number): Promise<void> {
    const bad = this.#checkKey(id) ?? this.#checkSize(id, record.byteLength);
    if (bad !== null) return Promise.reject(bad);
    return this.#writer.set(id, record, this.#lifetime(ttlMs));
  }

  /**
   * Applies a PATCH to the live record under `id` by compare-and-swap (see
   * the class comment). Resolves with the outcome (types.ts), or rejects with
   * HOTSESSION_ERR_CONFLICT when other processes kept winning the swap.
   */
  patch(id: string, patch: Uint8Array, ttlMs: number): Promise<PatchOutcome> {
    const v = codec.scan(patch);
    if (v === null || v.kind !== KIND_PATCH) return Promise.reject(new HotsessionError(codes.ENCODE, 'MemcachedStore.patch needs a v2 PATCH (src/codec/layout.ts)'));
    const bad = this.#checkKey(id) ?? this.#checkSize(id, patch.byteLength);
    if (bad !== null) return Promise.reject(bad);
    return this.#writer.patch(id, patch, this.#lifetime(ttlMs));
  }

  /**
   * Swaps the live record under `id` for a FORWARD `marker` that lives
   * `graceMs`, and resolves with the record it replaced (as `get` gives it),
   * or null when there was none (nothing written).
   */
  forward(id: string, marker: Uint8Array, graceMs: number): Promise<Read | null> {
    const v = codec.scan(marker);
    if (v === null || v.kind !== KIND_FORWARD) return Promise.reject(new HotsessionError(codes.ENCODE, 'MemcachedStore.forward needs a v2 FORWARD marker (src/codec/layout.ts)'));
    if (!this.#keyFits(id)) return Promise.resolve(null);
    return this.#writer.forward(id, marker, graceMs) as Promise<Read | null>;
  }

  touch(id: string, ttlMs: number): Promise<void> {
    const bad = this.#checkKey(id);
    return bad !== null ? Promise.reject(bad) : this.#writer.touch(id, this.#lifetime(ttlMs));
  }

  /** The lifetime a record gets: the session's, capped by the `ttl` option. */
  #lifetime(ttlMs: number): number {
    return this.#ttl === undefined ? ttlMs : Math.min(ttlMs, this.#ttl);
  }

  destroy(id: string): Promise<void> {
    // Nothing longer than a key can exist, so there is nothing to remove.
    if (!this.#keyFits(id)) return Promise.resolve();
    return this.#writer.destroy(id);
  }

  /** Sends queued writes, waits for those in flight, then closes the sockets the store opened. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.close();
    this.#pool.close();
  }

  #keyFits(id: string): boolean {
    return typeof id === 'string' && id.length > 0 && this.#prefixBytes + Buffer.byteLength(id) <= MAX_KEY_BYTES;
  }

  #checkKey(id: string): Error | null {
    if (this.#keyFits(id)) return null;
    return new HotsessionError(codes.OPTIONS, `session id must be 1..${MAX_KEY_BYTES - this.#prefixBytes} bytes to fit a memcached key`);
  }

  /** A RECORD_TOO_LARGE error when `bytes` of record under `id` exceed maxRecordSize or memcached's item size. */
  #checkSize(id: string, bytes: number): Error | null {
    if (bytes > this.#maxRecordSize) {
      return new HotsessionError(codes.RECORD_TOO_LARGE, `session record of ${bytes} bytes is larger than maxRecordSize (${this.#maxRecordSize})`);
    }
    if (bytes + this.#prefixBytes + Buffer.byteLength(id) + ITEM_OVERHEAD > this.#maxValueSize) {
      return new HotsessionError(codes.RECORD_TOO_LARGE, `session record of ${bytes} bytes does not fit memcached's item size limit (maxValueSize ${this.#maxValueSize})`);
    }
    return null;
  }

  /** The swap a patch op makes (memcached/swap.ts). */
  #patchOp(op: WriteOp, key: string, now: number): SwapOp {
    const patch = op.bytes!;
    const clear = (patch[3]! & FLAG_CLEAR) !== 0;
    return {
      key,
      expiration: memcachedExpiry(op.ttlMs, now),
      decide: (value): Decision => {
        if (value === null) return { result: 'gone' };
        const h = held(value, this.#legacy, Date.now());
        if (h === null) return { result: 'gone' };
        if (typeof h === 'object') return { result: h };
        if (h === 'other' && !clear) return { result: 'stale' };
        const next = codec.apply(h === 'record' ? value : null, patch);
        if (next === null) return { result: 'gone' };
        const bad = this.#checkSize(op.id, next.length);
        return bad !== null ? { result: bad } : { write: next, stored: 'ok' };
      },
    };
  }

  /** The swap a forward op makes: a live session out, the marker in, for the grace period. */
  #forwardOp(op: WriteOp, key: string, now: number): SwapOp {
    return {
      key,
      expiration: memcachedExpiry(op.ttlMs, now),
      decide: (value): Decision => {
        if (value === null) return { result: null };
        const h = held(value, this.#legacy, Date.now());
        // held() judges a RECORD by its header; what a forward hands back must scan whole.
        if (h === null || typeof h === 'object' || (h === 'record' && codec.scan(value) === null)) return { result: null };
        return { write: op.bytes!, stored: this.#decode(value) };
      },
    };
  }

  #flush(ops: WriteOp[]): Promise<unknown[]> {
    const client = this.#pool.next();
    const prefix = this.#prefix;
    const keys = ops.map((op) => prefix + op.id);
    const now = Date.now();
    const versions = this.#versions;
    return burst(client, keys, this.#timeout, (i, done, alive) => {
      const op = ops[i]!;
      const key = keys[i]!;
      // memjs reports "not found" for touch/delete as success=false: for a
      // session that is already gone that is the outcome asked for.
      const cb = (err: unknown): void => done(i, err ? asError(err) : undefined);
      if (op.kind === 'patch' || op.kind === 'forward') {
        const swapOp = op.kind === 'patch' ? this.#patchOp(op, key, now) : this.#forwardOp(op, key, now);
        swap(client, op.id, swapOp, versions.take(op.id), versions, alive, (r) => done(i, r instanceof Error ? asError(r) : r));
      } else if (op.kind === 'set') {
        versions.forget(op.id);
        const r = op.bytes!;
        client.set(key, Buffer.from(r.buffer, r.byteOffset, r.byteLength), { expires: memcachedExpiry(op.ttlMs, now) }, cb);
      } else if (op.kind === 'touch') {
        client.touch(key, memcachedExpiry(op.ttlMs, now), cb);
      } else {
        versions.forget(op.id);
        client.delete(key, cb);
      }
    });
  }

  #fetch(ids: string[]): Promise<ReadonlyArray<Read | null | Error>> {
    const client = this.#pool.next();
    const prefix = this.#prefix;
    const keys = ids.map((id) => prefix + id);
    const versions = this.#versions;
    return burst(client, keys, this.#timeout, (i, done) => {
      // A get that also learns the item's CAS, for the patch that usually follows.
      gets(client, keys[i]!, (err, status, value, cas) => {
        if (err) return done(i, asError(err));
        if (status === STATUS_NOT_FOUND || value === null) return done(i, null);
        if (status !== STATUS_OK) return done(i, new HotsessionError(codes.STORE, `memcached answered status ${status} to a get`));
        versions.remember(ids[i]!, value, cas);
        done(i, this.#decode(value));
      });
    }) as Promise<ReadonlyArray<Read | null | Error>>;
  }

  #decode(value: Buffer | null): Read | null {
    if (value === null || value.length === 0) return null;
    // A hotsession frame starts with 0x68, JSON with '{': the two never collide.
    if (this.#legacy && value[0] === 0x7b) return decodeLegacy(value, Date.now());
    return value;
  }
}
