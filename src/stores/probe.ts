import { codes } from '../errors';
import { batchClock, publishBatch, publishFailure, type BatchKind } from '../diagnostics';

/** What `stats()` of a batching store (Redis, Memcached, MongoDB) reports: counters since the store was built. */
export interface StoreStats {
  /** Reads that found a record. */
  hits: number;
  /** Reads that found none (absent or expired). */
  misses: number;
  /** Backend round trips that succeeded (read and write batches). */
  batches: number;
  /** Operations the backend failed (a failed batch counts each of its operations). */
  errors: number;
  /** Operations that ran out of time (the store's `timeout`). */
  timeouts: number;
  /** Operations refused at `maxPending`. */
  queueFull: number;
  /** Operations waiting or in flight now. */
  pending: number;
}

/**
 * A store's counters and its diagnostics publisher in one object, handed to
 * its batchers (batcher.ts). Counting is a few increments per batch; the
 * clock is read only while someone subscribes to `hotsession:store:batch`.
 * Not exported from the package's entry points; not marked internal because
 * the batchers' declarations name it.
 */
export class StoreProbe {
  /** The store's kind, as diagnostics messages name it. */
  readonly store: string;
  hits = 0;
  misses = 0;
  batches = 0;
  errors = 0;
  timeouts = 0;
  queueFull = 0;

  constructor(store: string) {
    this.store = store;
  }

  /** A batch is sent: its start time for `done` (0 when nobody listens). */
  start(): number {
    return batchClock();
  }

  /** A batch was answered. */
  done(kind: BatchKind, size: number, t0: number): void {
    this.batches++;
    publishBatch(this.store, kind, size, t0);
  }

  /** `size` operations failed with `err` (a timeout, a refusal or a backend error). */
  failed(kind: BatchKind, size: number, err: Error): void {
    const code = (err as { code?: unknown }).code;
    if (code === codes.STORE_TIMEOUT) this.timeouts += size;
    else if (code === codes.QUEUE_FULL) this.queueFull += size;
    else this.errors += size;
    publishFailure(this.store, kind, size, err);
  }

  /** The counters, with `pending` from the store. */
  snapshot(pending: number): StoreStats {
    return {
      hits: this.hits, misses: this.misses, batches: this.batches, errors: this.errors,
      timeouts: this.timeouts, queueFull: this.queueFull, pending,
    };
  }
}
