import { randomInt } from 'node:crypto';
import { optionsError } from '../errors';
import { computeGeometry, initTable, readGeometry, type Geometry } from './shared/layout';
import { findTable, mayCreate, publishTable, unpublishTable } from './shared/registry';
import { Table, type TableStats } from './shared/table';
import type { PatchOutcome, SessionStore } from './types';

/*
 * SharedMemoryStore: one session table for every worker thread of a process.
 *
 * Where the table lives: a SharedArrayBuffer driven by JS with Atomics, the
 * same code with or without the native addon. Measured here (Node 20.20,
 * 2-core EPYC, shared and noisy; `node bench/shared-memory.mjs --micro`):
 *
 *   MEASUREMENTS
 *
 * Why not memory owned by the addon, found by name from any thread:
 * - crossing into C++ and handing a record back costs more than the whole JS
 *   lookup: a Buffer created in C++ cost 2.2-5 µs, a copy into a JS-provided
 *   buffer 0.6-1 µs per get in a node-addon-api prototype, against a few
 *   hundred ns for the JS path;
 * - the one thing native gives for free, a critical section that
 *   worker.terminate() cannot interrupt, the JS fallback must do without
 *   anyway (it has to behave the same), so the table is built to need no
 *   critical section at all: every change is one CAS (shared/slots.ts,
 *   shared/log.ts), and one implementation is right for both codecs;
 * - discovery by name from any thread is the other native advantage, and the
 *   fallback cannot match it (shared/registry.ts): both follow one rule.
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
