import { codes, HotsessionError, optionsError } from '../errors';
import { codec } from '../codec';
import { FLAG_CLEAR, KIND_FORWARD, KIND_PATCH, KIND_RECORD } from '../codec/layout';
import { appliedSize, applyInto } from './memory/apply';
import { Arena } from './memory/arena';
import { SegmentedLru } from './memory/slru';
import { MemoryUserIndex } from './memory/users';
import type { PatchOutcome, SessionStore } from './types';

/** A slot's record is neither a v2 RECORD nor a FORWARD marker (a v1 frame, anything else). */
const OTHER = 255;

function kindOf(record: Uint8Array): number {
  const kind = codec.scan(record)?.kind;
  return kind === KIND_RECORD || kind === KIND_FORWARD ? kind : OTHER;
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most records kept. Past it one is evicted: the least recently used of
   * the sessions that were never loaded again (one-shot visitors) first,
   * then the least recently used returning session (a segmented LRU, see
   * src/stores/memory/slru.ts).
   * @default 100_000
   */
  max?: number;
  /**
   * How often (ms) expired records are swept. Expired records are never
   * returned in between; the sweep only frees their memory.
   * @default 60_000
   */
  sweepInterval?: number;
  /**
   * Largest record (bytes) kept; a bigger session is refused with
   * HOTSESSION_ERR_RECORD_TOO_LARGE before it is stored (the core checks
   * first, so the previous record stays). One MiB is Memcached's default
   * item limit, so a session that fits here fits every server store with
   * its defaults, and `max` full-size sessions stay a bounded worst case;
   * a session near it is usually a cache or an upload that belongs elsewhere.
   * @default 1_048_576 (1 MiB)
   */
  maxRecordSize?: number;
}

/** What {@link MemoryStore.stats} reports. */
export interface MemoryStoreStats {
  /** Records held (expired ones count until swept or read). */
  entries: number;
  /** Bytes of the records held (the records only: ids, the index and object headers come on top). */
  bytes: number;
  /** Bytes of memory held for records: `bytes` plus slab headers and space not yet compacted (src/stores/memory/arena.ts). */
  allocated: number;
  /** `get` calls that found a live record. */
  hits: number;
  /** `get` calls that found none (absent or expired). */
  misses: number;
  /** Records dropped to stay within `max`. */
  evictions: number;
  /** Records dropped because they expired (on read or by the sweep). */
  expired: number;
  /** Records never loaded again since they were written (evicted first). */
  probation: number;
  /** Records loaded again since they were written. */
  protected: number;
}

/**
 * The embedded store: records copied into slabs of its own (never slices of
 * a buffer it was given, which would pin that buffer: see
 * src/stores/memory/arena.ts), an index from id to slot, a segmented LRU for
 * eviction, and one unref'd timer for the whole store. Every method answers synchronously, so adapters serve it
 * without an await; a patch is applied in place, atomically (one thread).
 *
 * It keeps encoded records, not live objects: a handler that mutates session
 * data after a save cannot change the stored copy, and a buffer `get` handed
 * out is never written to (a write replaces it). One process only; use a
 * backend store to share sessions between processes.
 */
export class MemoryStore implements SessionStore {
  readonly maxRecordSize: number;
  /** The per-user index (users' sessions). */
  readonly users = new MemoryUserIndex();
  readonly #index = new Map<string, number>();
  readonly #lru: SegmentedLru;
  readonly #arena = new Arena();
  #ids: string[] = [];
  #expires = new Float64Array(0);
  /** Per slot: what the record is (KIND_RECORD, KIND_FORWARD, or OTHER), checked when the store took it. */
  #kinds = new Uint8Array(0);
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #expired = 0;
  #timer: NodeJS.Timeout | null;

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.max ?? 100_000;
    const every = options.sweepInterval ?? 60_000;
    const maxRecordSize = options.maxRecordSize ?? 1_048_576;
    if (!Number.isInteger(max) || max < 1) throw optionsError('MemoryStore max must be a positive integer');
    if (!Number.isFinite(every) || every <= 0) throw optionsError('MemoryStore sweepInterval must be a positive number of ms');
    if (!Number.isInteger(maxRecordSize) || maxRecordSize < 28) throw optionsError('MemoryStore maxRecordSize must be an integer >= 28 (a record header)');
    this.maxRecordSize = maxRecordSize;
    this.#lru = new SegmentedLru(max);
    this.#timer = setInterval(() => this.sweep(), every);
    this.#timer.unref();
  }

  /** Records currently held (expired ones count until swept or read). */
  get size(): number {
    return this.#index.size;
  }

  /** Counters and sizes (see {@link MemoryStoreStats}). */
  stats(): MemoryStoreStats {
    const lru = this.#lru;
    return {
      entries: this.#index.size, bytes: this.#bytes, allocated: this.#arena.allocated, hits: this.#hits, misses: this.#misses,
      evictions: this.#evictions, expired: this.#expired, probation: lru.probation, protected: lru.protected,
    };
  }

  /** The slot of a live record under `id`, or -1 (an expired one is dropped on the way). */
  #live(id: string, now: number): number {
    const slot = this.#index.get(id);
    if (slot === undefined) return -1;
    if (this.#expires[slot]! <= now) {
      this.#drop(id, slot);
      this.#expired++;
      return -1;
    }
    return slot;
  }

  #drop(id: string, slot: number): void {
    this.#index.delete(id);
    this.#bytes -= this.#arena.length(slot);
    this.#arena.free(slot);
    this.#ids[slot] = '';
    this.#lru.remove(slot);
  }

  /** Copies `record` in as slot's record. A view handed out earlier keeps the old bytes. */
  #put(slot: number, record: Uint8Array, kind: number, expiresAt: number): void {
    this.#bytes += record.byteLength - this.#arena.length(slot);
    this.#arena.put(slot, record);
    this.#kinds[slot] = kind;
    this.#expires[slot] = expiresAt;
  }

  #checkSize(n: number): void {
    if (n > this.maxRecordSize) throw new HotsessionError(codes.RECORD_TOO_LARGE, `a session record of ${n} bytes is larger than the MemoryStore's maxRecordSize of ${this.maxRecordSize}`);
  }

  get(id: string): Uint8Array | null {
    const slot = this.#live(id, Date.now());
    if (slot < 0) {
      this.#misses++;
      return null;
    }
    this.#hits++;
    // A session loaded again has come back: it leaves probation.
    this.#lru.hit(slot);
    return this.#arena.view(slot);
  }

  /**
   * The live record under `id`, like `get`, but as an onlooker: the
   * session is not promoted in the eviction order and no counter moves
   * (admin views and express-session's `all()` must not make every session
   * look recently used).
   */
  peek(id: string): Uint8Array | null {
    const slot = this.#index.get(id);
    if (slot === undefined || this.#expires[slot]! <= Date.now()) return null;
    return this.#arena.view(slot);
  }

  set(id: string, record: Uint8Array, ttlMs: number): void {
    this.#checkSize(record.byteLength);
    const now = Date.now();
    // Checked once here, so a patch never scans the stored record again.
    const kind = kindOf(record);
    const slot = this.#index.get(id);
    if (slot !== undefined) {
      this.#put(slot, record, kind, now + ttlMs);
      this.#lru.touch(slot);
      return;
    }
    const lru = this.#lru;
    if (lru.size >= lru.max) {
      const victim = lru.victim();
      this.#drop(this.#ids[victim]!, victim);
      this.#evictions++;
    }
    const fresh = lru.insert();
    if (fresh >= this.#ids.length) this.#grow(lru.capacity);
    this.#ids[fresh] = id;
    this.#index.set(id, fresh);
    this.#put(fresh, record, kind, now + ttlMs);
  }

  #grow(n: number): void {
    const expires = new Float64Array(n);
    expires.set(this.#expires);
    this.#expires = expires;
    const kinds = new Uint8Array(n);
    kinds.set(this.#kinds);
    this.#kinds = kinds;
    for (let i = this.#ids.length; i < n; i++) this.#ids.push('');
    this.#arena.grow(n);
  }

  patch(id: string, patch: Uint8Array, ttlMs: number): PatchOutcome {
    const pv = codec.scan(patch);
    if (pv === null || pv.kind !== KIND_PATCH) throw new RangeError('MemoryStore.patch takes a v2 PATCH');
    const now = Date.now();
    const slot = this.#live(id, now);
    // Destroyed or expired: a patch never brings a session back.
    if (slot < 0) return 'gone';
    const arena = this.#arena;
    const kind = this.#kinds[slot];
    if (kind === KIND_FORWARD) {
      const to = codec.scan(arena.view(slot))?.target;
      return to ? { movedTo: to } : 'gone';
    }
    const clear = (pv.flags & FLAG_CLEAR) !== 0;
    // Without CLEAR a patch applies to a v2 RECORD only; with it, to any live value (how v1 records upgrade).
    if (!clear && kind !== KIND_RECORD) return 'stale';
    const old = clear ? null : arena.slab(slot);
    const start = arena.offset(slot);
    const n = appliedSize(old, start, patch, pv);
    this.#checkSize(n);
    this.#bytes += n - arena.length(slot);
    // The old record's bytes stay where they are while the new one is written (arena.ts).
    const out = arena.reserve(slot, n);
    applyInto(old, start, patch, pv, out, arena.offset(slot));
    this.#kinds[slot] = KIND_RECORD;
    this.#expires[slot] = now + ttlMs;
    this.#lru.touch(slot);
    return 'ok';
  }

  forward(id: string, marker: Uint8Array, graceMs: number): Uint8Array | null {
    const now = Date.now();
    const slot = this.#live(id, now);
    if (kindOf(marker) !== KIND_FORWARD) throw new RangeError('MemoryStore.forward takes a FORWARD marker');
    if (slot < 0 || this.#kinds[slot] === KIND_FORWARD) return null;
    const held = this.#arena.view(slot);
    this.#put(slot, marker, KIND_FORWARD, now + graceMs);
    return held;
  }

  touch(id: string, ttlMs: number): void {
    const now = Date.now();
    const slot = this.#live(id, now);
    if (slot >= 0) this.#expires[slot] = now + ttlMs;
  }

  destroy(id: string): void {
    const slot = this.#index.get(id);
    if (slot !== undefined) this.#drop(id, slot);
  }

  /**
   * Ids of the live records, in no promised order (FORWARD markers of
   * regenerated sessions included: their `get` is no session). For admin
   * views and express-session's `all()`; a write during the walk may or may
   * not be seen.
   */
  *ids(): IterableIterator<string> {
    const now = Date.now();
    for (const [id, slot] of this.#index) if (this.#expires[slot]! > now) yield id;
  }

  /** Frees every expired record now (the timer does this periodically). */
  sweep(): number {
    const now = Date.now();
    let freed = 0;
    for (const [id, slot] of this.#index) {
      if (this.#expires[slot]! <= now) {
        this.#drop(id, slot);
        freed++;
      }
    }
    this.#expired += freed;
    this.users.sweep(now);
    return freed;
  }

  /** Drops every record. */
  clear(): void {
    this.users.clear();
    this.#index.clear();
    this.#lru.clear();
    this.#ids = [];
    this.#arena.clear();
    this.#expires = new Float64Array(0);
    this.#kinds = new Uint8Array(0);
    this.#bytes = 0;
  }

  /** Stops the sweep timer. The store stays usable (without sweeping). */
  async close(): Promise<void> {
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}
