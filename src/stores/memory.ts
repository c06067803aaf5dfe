import { optionsError } from '../errors';
import type { SessionStore } from './types';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most records kept; past it the least recently used is evicted.
   * @default 100_000
   */
  max?: number;
  /**
   * How often (ms) expired records are swept. Expired records are never
   * returned in between; the sweep only frees their memory.
   * @default 60_000
   */
  sweepInterval?: number;
}

interface Entry {
  record: Uint8Array;
  expiresAt: number;
}

/**
 * The embedded store: framed records in one insertion-ordered Map that
 * doubles as the LRU list (a read moves the entry to the end), one unref'd
 * timer for the whole store instead of one per entry. Every method answers
 * synchronously, so adapters serve it without an await.
 *
 * It keeps encoded records, not live objects: a handler that mutates session
 * data after a save cannot change the stored copy. One process only; use a
 * backend store to share sessions between processes.
 */
export class MemoryStore implements SessionStore {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  #timer: NodeJS.Timeout | null;

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.max ?? 100_000;
    const every = options.sweepInterval ?? 60_000;
    if (!Number.isInteger(max) || max < 1) throw optionsError('MemoryStore max must be a positive integer');
    if (!Number.isFinite(every) || every <= 0) throw optionsError('MemoryStore sweepInterval must be a positive number of ms');
    this.#max = max;
    this.#timer = setInterval(() => this.sweep(), every);
    this.#timer.unref();
  }

  /** Records currently held (expired ones count until swept or read). */
  get size(): number {
    return this.#entries.size;
  }

  get(id: string): Uint8Array | null {
    const entry = this.#entries.get(id);
    if (entry === undefined) return null;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(id);
      return null;
    }
    // Move to the end: Map order is the recency order.
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return entry.record;
  }

  set(id: string, record: Uint8Array, ttlMs: number): void {
    const entries = this.#entries;
    entries.delete(id);
    entries.set(id, { record, expiresAt: Date.now() + ttlMs });
    if (entries.size > this.#max) {
      // The first key is the least recently used.
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
    }
  }

  touch(id: string, ttlMs: number): void {
    const entry = this.#entries.get(id);
    if (entry !== undefined) entry.expiresAt = Date.now() + ttlMs;
  }

  destroy(id: string): void {
    this.#entries.delete(id);
  }

  /** Frees every expired record now (the timer does this periodically). */
  sweep(): number {
    const now = Date.now();
    let freed = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(id);
        freed++;
      }
    }
    return freed;
  }

  /** Drops every record. */
  clear(): void {
    this.#entries.clear();
  }

  /** Stops the sweep timer. The store stays usable (without sweeping). */
  async close(): Promise<void> {
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}
