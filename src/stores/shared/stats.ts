import { threadId } from 'node:worker_threads';
import { STAT_FIELDS, STAT_STRIPES, STATS_AT } from './layout';

/*
 * Counters shared by every thread: one 64-byte stripe per thread (threadId
 * modulo 64), plain (non-atomic) increments. A thread only ever writes its own
 * stripe, so the counts are exact until more than 64 threads share a table;
 * then two threads may share a stripe and lose an increment now and then.
 * An Atomics.add per operation would cost a fifth of a get (bench/shared-memory.mjs
 * --micro) and bounce one cache line between every core.
 */

export const C_HITS = 0;
export const C_MISSES = 1;
export const C_WRITES = 2;
export const C_EVICTED = 3;
export const C_EXPIRED = 4;
export const C_PROMOTED = 5;
export const C_CONFLICTS = 6;
export const C_RECLAIMS = 7;

/** Operation counts summed over every thread's stripe. */
export interface SharedCounters {
  /** Gets that returned a record. */
  hits: number;
  /** Gets that found nothing (absent, expired, evicted). */
  misses: number;
  /** Records written: sets, patches and forwards that landed. */
  writes: number;
  /** Sessions the eviction policy dropped to make room. */
  evicted: number;
  /** Expired sessions removed (met by an operation, a reclaim or a sweep). */
  expired: number;
  /** Sessions moved from the small log to the main one because they came back. */
  promoted: number;
  /** Compare-and-swaps lost to another thread and retried. */
  conflicts: number;
  /** Segments walked to make room. */
  reclaims: number;
}

export class Counters {
  readonly #all: Float64Array;
  /** This thread's stripe. */
  readonly c: Float64Array;

  constructor(sab: SharedArrayBuffer) {
    this.#all = new Float64Array(sab, STATS_AT, STAT_STRIPES * STAT_FIELDS);
    this.c = new Float64Array(sab, STATS_AT + (threadId % STAT_STRIPES) * STAT_FIELDS * 8, STAT_FIELDS);
  }

  sum(): SharedCounters {
    const t = new Float64Array(STAT_FIELDS);
    for (let s = 0; s < STAT_STRIPES; s++) for (let f = 0; f < STAT_FIELDS; f++) t[f]! += this.#all[s * STAT_FIELDS + f]!;
    return {
      hits: t[C_HITS]!,
      misses: t[C_MISSES]!,
      writes: t[C_WRITES]!,
      evicted: t[C_EVICTED]!,
      expired: t[C_EXPIRED]!,
      promoted: t[C_PROMOTED]!,
      conflicts: t[C_CONFLICTS]!,
      reclaims: t[C_RECLAIMS]!,
    };
  }
}
