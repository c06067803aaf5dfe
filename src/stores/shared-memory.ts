import { randomInt } from 'node:crypto';
import { optionsError } from '../errors';
import { computeGeometry, initTable, readGeometry, type Geometry } from './shared/layout';
import { findTable, mayCreate, publishTable, unpublishTable } from './shared/registry';
import { Table, type TableStats } from './shared/table';
import { SharedUserIndex } from './shared/users';
import type { PatchOutcome, SessionStore, UserIndex } from './types';

/*
 * SharedMemoryStore: one session table for every worker thread of a process.
 *
 * Where the table lives: a SharedArrayBuffer driven by JS with Atomics, the
 * same code with or without the native addon. Measured here (Node 20.20,
 * 2 shared cores):
 *
 *   in process, `node bench/shared-memory.mjs --micro`, 10,000 sessions of
 *   208 B, best round of 10,000 operations, ns per operation (2026-12-03):
 *                                        get 1 / 2 threads   1-key patch 1 / 2 threads
 *     MemoryStore (one per thread)          115 / 114            680 / 699
 *     SharedMemoryStore (one table)         411 / 372            958 / 984
 *
 *   a node-addon-api prototype of the other candidate (a native table behind
 *   striped mutexes, found by name from any thread; not kept in the repo, so
 *   these figures cannot be reproduced from it), ns per call from 1 / 2
 *   threads: empty call 33 / 45-156, get returning a Buffer made in C++
 *   1,824-5,028 / 2,200-4,089, get copying into a JS buffer then a JS copy
 *   522-967 / 586-1,163, get + compare-and-set 628-977 / 999-1,866.
 *
 *   over HTTP, `node bench/shared-memory.mjs` (uWS, wrk, 100 connections),
 *   server CPU per request against uWS + MemoryStore: read 1.04x, write
 *   1.07x (target <= 1.2x); the README has the whole table.
 *
 * So the JS table costs a few hundred ns per get more than MemoryStore (it
 * copies the record out of shared memory; MemoryStore hands out its own
 * reference) and is cheaper than the cheapest native crossing that returns a
 * record. Native would have given two things for free, and neither survives:
 * - a critical section worker.terminate() cannot interrupt: the JS fallback
 *   must behave the same, so the table needs no critical section at all
 *   (every change is one CAS: shared/slots.ts, shared/log.ts, shared/pool.ts),
 *   and one implementation is right for both codecs;
 * - finding a table by name from any thread: the fallback cannot
 *   (shared/registry.ts), so both follow one rule.
 *
 * The rule: construct the first instance of a name in the main thread before
 * starting the workers that use it; workers then construct it with the same
 * name (their options, when given, must match). Threads of one process only:
 * node:cluster workers and PM2 instances are processes and cannot share it.
 */

/** Options of {@link SharedMemoryStore}. */
export interface SharedMemoryStoreOptions {
  /**
   * The table's name: every instance with this name in one process (main
   * thread and the workers it starts afterwards) shares one table.
   * @default 'sessions'
   */
  name?: string;
  /**
   * Size of the table in bytes, records and index together (allocated at
   * once as shared memory, committed by the OS as it is used); rounded down
   * to a multiple of 64. From 1 MiB to 4 GiB.
   * @default 64 * 2 ** 20
   */
  maxBytes?: number;
  /**
   * Sessions the index is sized for (two 8-byte slots each, inside
   * `maxBytes`); `stats().capacity` is the exact bound, at least this.
   * @default Math.floor(maxBytes / 512)
   */
  maxEntries?: number;
  /**
   * Largest record accepted, in bytes: a larger write throws
   * HOTSESSION_ERR_RECORD_TOO_LARGE and stores nothing. A table too small to
   * hold 64 KiB records gets the largest size its segments hold.
   * @default 65536
   */
  maxRecordSize?: number;
}

/** What {@link SharedMemoryStore.stats} reports, summed over every thread. */
export type SharedMemoryStats = TableStats;

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw optionsError('SharedMemoryStore name must be a string of 1 to 200 characters');
  return name;
}

function mismatch(name: string, what: string, table: number, asked: number | undefined): void {
  if (asked !== undefined && asked !== table) {
    throw optionsError(`SharedMemoryStore '${name}' exists with ${what} ${table}; this instance asked for ${asked}`);
  }
}

/**
 * A session store shared by every worker thread of a process: a session
 * written through one thread's app is read and patched through any other's.
 * Every method answers synchronously, like MemoryStore, so the uWS and
 * node:http adapters serve it without an await.
 *
 * Bounded by `maxBytes`; sessions that came back outlive one-shot ones
 * (S3-FIFO, see shared/eviction.ts); expired sessions are never returned.
 * Records leave the table as copies. A thread that exits or is terminated at
 * any point leaves the table consistent and unlocked (there are no locks).
 */
export class SharedMemoryStore implements SessionStore {
  /** The table's name. */
  readonly name: string;
  /** Largest record this store accepts, in bytes. */
  readonly maxRecordSize: number;
  /**
   * The per-user index (users' sessions), in the same table: one record per
   * user that every thread sees, changed by compare-and-swap.
   */
  readonly users: UserIndex;
  readonly #table: Table;
  readonly #sab: SharedArrayBuffer;
  readonly #creator: boolean;

  constructor(options: SharedMemoryStoreOptions = {}) {
    const name = checkName(options.name ?? 'sessions');
    let sab = findTable(name);
    let g: Geometry | null;
    this.#creator = sab === null;
    if (sab === null) {
      if (!mayCreate()) {
        throw optionsError(`SharedMemoryStore '${name}' was not created before this worker started: construct it in the main thread first, then start the workers`);
      }
      g = computeGeometry(options.maxBytes ?? 64 * 2 ** 20, options.maxEntries, options.maxRecordSize);
      sab = new SharedArrayBuffer(g.maxBytes);
      initTable(sab, g, randomInt(0x7fffffff), Date.now());
      publishTable(name, sab);
    } else {
      g = readGeometry(sab);
      if (g === null) throw optionsError(`SharedMemoryStore '${name}': the shared table has an unknown layout (another hotsession version?)`);
      if (options.maxBytes !== undefined) mismatch(name, 'maxBytes', g.maxBytes, options.maxBytes - (options.maxBytes % 64));
      mismatch(name, 'maxEntries', g.maxEntries, options.maxEntries);
      mismatch(name, 'maxRecordSize', g.maxRecordSize, options.maxRecordSize);
    }
    this.name = name;
    this.maxRecordSize = g.maxRecordSize;
    this.#sab = sab;
    this.#table = new Table(sab, g);
    this.users = new SharedUserIndex(this.#table);
  }

  /** The record under `id`, or null when absent or expired. A copy: the table never hands out its memory. */
  get(id: string): Uint8Array | null {
    return this.#table.get(id);
  }

  set(id: string, record: Uint8Array, ttlMs: number): void {
    this.#table.set(id, record, ttlMs);
  }

  patch(id: string, patch: Uint8Array, ttlMs: number): PatchOutcome {
    return this.#table.patch(id, patch, ttlMs);
  }

  forward(id: string, marker: Uint8Array, graceMs: number): Uint8Array | null {
    return this.#table.forward(id, marker, graceMs);
  }

  touch(id: string, ttlMs: number): void {
    this.#table.touch(id, ttlMs);
  }

  destroy(id: string): void {
    this.#table.destroy(id);
  }

  /** Sessions held (expired ones count until met or swept). Scans the index: for monitoring, not per request. */
  get size(): number {
    return this.#table.stats().entries;
  }

  /** Counts and sizes of the whole table, every thread's operations summed. Scans the index. */
  stats(): SharedMemoryStats {
    return this.#table.stats();
  }

  /** Frees every expired session's slot now; returns how many. Expired sessions are never returned in any case. */
  sweep(): number {
    return this.#table.sweep();
  }

  /** Drops every session (for every thread). */
  clear(): void {
    this.#table.clear();
  }

  /**
   * In the thread that created the table, stops handing it to workers started
   * from now on (its memory goes once no thread holds an instance). The store
   * stays usable; it holds no timer or handle, so it never keeps a process alive.
   */
  async close(): Promise<void> {
    if (this.#creator) unpublishTable(this.name, this.#sab);
  }
}
