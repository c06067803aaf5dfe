import { codes, HotsessionError } from '../errors';
import { absorbedByDestroy, coalesce, resultFor, type WriteOp } from './coalesce';
import { StoreProbe } from './probe';
import type { PatchOutcome } from './types';

export type { WriteOp } from './coalesce';

/**
 * Shared batching machinery for backend stores.
 *
 * Writes issued in one event-loop turn go to the backend together: the
 * batch flushes on `setImmediate` (after every microtask of the turn, so
 * the saves of many requests handled in one turn share a round trip) or as
 * soon as it reaches `maxBatch`. Writes to one id keep their order and fold
 * into one op while they wait (patches merge; see coalesce.ts), except that a
 * destroy is never overridden (a logout wins over a concurrent save). Every
 * caller's promise settles when the backend acknowledged the batch that
 * carried its write, or rejects with that batch's error (or with its own op's
 * error when the backend reports per op).
 *
 * Reads of one id in flight share one backend round trip; reads of one turn
 * go to the backend as one multi-get.
 */

/**
 * Sends one batch. Resolve with nothing when every op succeeded with no
 * result to report, or with one entry per op: an Error for each op that
 * failed; for a patch its PatchOutcome (undefined = 'ok'); for a forward the
 * record the id held (undefined/null = none); anything for other ops.
 * Reject when the whole batch failed.
 */
export type FlushWrites = (ops: WriteOp[]) => Promise<ReadonlyArray<unknown> | void>;

/** Fetches one batch of ids; one entry per id, an Error for a failed read. */
export type FetchMany<T> = (ids: string[]) => Promise<ReadonlyArray<T | null | Error>>;

/** Limits shared by both batchers. */
export interface BatchOptions {
  /**
   * Batch writes and reads of a turn together. `false` sends every operation
   * on its own (useful only to measure what batching buys).
   * @default true
   */
  batch?: boolean;
  /**
   * Largest batch; a batch that reaches it flushes at once.
   * @default 512
   */
  maxBatch?: number;
  /**
   * Most writes waiting or in flight; past it a write fails at once with
   * HOTSESSION_ERR_QUEUE_FULL instead of growing memory while a backend is down.
   * @default 10_000
   */
  maxPending?: number;
  /**
   * Per-batch timeout in ms; a batch not acknowledged by then rejects with
   * HOTSESSION_ERR_STORE_TIMEOUT (the backend may still apply it).
   * @default 1000
   */
  timeout?: number;
}

/** Resolved batching limits. @internal */
export function batchLimits(o: BatchOptions = {}): Required<BatchOptions> {
  const r = { batch: o.batch ?? true, maxBatch: o.maxBatch ?? 512, maxPending: o.maxPending ?? 10_000, timeout: o.timeout ?? 1000 };
  if (!Number.isInteger(r.maxBatch) || r.maxBatch < 1) throw new HotsessionError(codes.OPTIONS, 'maxBatch must be a positive integer');
  if (!Number.isInteger(r.maxPending) || r.maxPending < 1) throw new HotsessionError(codes.OPTIONS, 'maxPending must be a positive integer');
  if (!Number.isFinite(r.timeout) || r.timeout <= 0) throw new HotsessionError(codes.OPTIONS, 'timeout must be a positive number of ms');
  return r;
}

/**
 * Races `promise` against a timer. The timer is deliberately not unref'd:
 * a write still waiting for its acknowledgement keeps the process alive
 * until it settles or times out, so no save is silently dropped at exit.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HotsessionError(codes.STORE_TIMEOUT, `${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function asError(err: unknown): Error {
  if (err instanceof HotsessionError) return err;
  return new HotsessionError(codes.STORE, `session store backend failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

interface Waiter {
  kind: WriteOp['kind'];
  resolve: (v: unknown) => void;
  reject: (err: Error) => void;
}

/** One op on its way to the backend and everyone waiting for it. */
interface Entry {
  op: WriteOp;
  waiters: Waiter[];
}

/**
 * Coalesces and batches writes; see the module comment.
 *
 * Per id there is at most one op in the batch being formed or in flight,
 * and at most one held behind it (everything queued later folds into the held
 * op, see coalesce.ts). So writes to one session reach the backend in the
 * order they were made on every store (a memcached pool or an unordered
 * MongoDB bulkWrite would not keep that order by itself), and a burst of
 * commits to one session costs one backend write per round trip.
 */
export class WriteBatcher {
  readonly #flush: FlushWrites;
  readonly #o: Required<BatchOptions>;
  /** The batch being formed. */
  #queue = new Map<string, Entry>();
  /** Ids with an op in flight. */
  readonly #flying = new Set<string>();
  /** The op waiting for its id's queued or in-flight op to settle. */
  readonly #held = new Map<string, Entry>();
  #inFlight = 0;
  #scheduled = false;
  #closed = false;
  readonly #drained: Array<() => void> = [];
  readonly #probe: StoreProbe;

  /** `probe`: the store's counters and diagnostics (probe.ts). */
  constructor(flush: FlushWrites, options?: BatchOptions, probe = new StoreProbe('custom')) {
    this.#flush = flush;
    this.#o = batchLimits(options);
    this.#probe = probe;
  }

  /** Writes waiting, held or in flight (coalesced writes count once). */
  get pending(): number {
    return this.#queue.size + this.#held.size + this.#inFlight;
  }

  /** Writes waiting or held, not yet handed to the backend (coalesced writes count once). */
  get queued(): number {
    return this.#queue.size + this.#held.size;
  }

  /** A whole record, unconditionally. */
  set(id: string, record: Uint8Array, ttlMs: number): Promise<void> {
    return this.#enqueue({ kind: 'set', id, bytes: record, ttlMs }) as Promise<void>;
  }

  /** A PATCH for the live record. */
  patch(id: string, patch: Uint8Array, ttlMs: number): Promise<PatchOutcome> {
    return this.#enqueue({ kind: 'patch', id, bytes: patch, ttlMs }) as Promise<PatchOutcome>;
  }

  /** Replace a live record by a FORWARD marker; resolves to what the flush reported for it. */
  forward(id: string, marker: Uint8Array, graceMs: number): Promise<unknown> {
    return this.#enqueue({ kind: 'forward', id, bytes: marker, ttlMs: graceMs });
  }

  touch(id: string, ttlMs: number): Promise<void> {
    return this.#enqueue({ kind: 'touch', id, bytes: null, ttlMs }) as Promise<void>;
  }

  destroy(id: string): Promise<void> {
    return this.#enqueue({ kind: 'destroy', id, bytes: null, ttlMs: 0 }) as Promise<void>;
  }

  #enqueue(op: WriteOp): Promise<unknown> {
    if (this.#closed) return Promise.reject(new HotsessionError(codes.STORE_CLOSED, 'the store is closed'));
    const id = op.id;
    const busy = this.#flying.has(id);
    // The op the new one would follow: held behind a busy or queued id, else the queued one.
    const before = this.#held.get(id) ?? (busy ? undefined : this.#queue.get(id));
    if (before !== undefined) {
      const how = coalesce(before.op, op);
      if (how === 'merged') return this.#wait(before, op.kind);
      if (how === 'stale') return Promise.resolve('stale');
      if (how === 'absorbed') {
        return this.#wait(before, 'destroy').then(() => absorbedByDestroy(op.kind));
      }
      // 'separate': it follows `before`; only one op waits per id, so `before` must be the queued one.
      if (this.#held.has(id)) {
        // Two ops that cannot fold (a forward and anything) and one already held: this
        // one waits for the held op to settle, whatever its outcome, then queues.
        const again = (): Promise<unknown> => this.#enqueue(op);
        return this.#wait(this.#held.get(id)!, 'touch').then(again, again);
      }
    }
    if (this.pending >= this.#o.maxPending) {
      const full = new HotsessionError(codes.QUEUE_FULL, `${this.pending} session writes are already pending (maxPending ${this.#o.maxPending})`);
      this.#probe.failed('write', 1, full);
      return Promise.reject(full);
    }
    const entry: Entry = { op, waiters: [] };
    const promise = this.#wait(entry, op.kind);
    if (busy || this.#queue.has(id)) {
      this.#held.set(id, entry);
      return promise;
    }
    this.#queueEntry(entry);
    return promise;
  }

  #wait(entry: Entry, kind: WriteOp['kind']): Promise<unknown> {
    return new Promise((resolve, reject) => {
      entry.waiters.push({ kind, resolve, reject });
    });
  }

  #queueEntry(entry: Entry): void {
    if (!this.#o.batch) {
      void this.#send([entry]);
      return;
    }
    this.#queue.set(entry.op.id, entry);
    if (this.#queue.size >= this.#o.maxBatch) this.flushNow();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.flushNow();
      });
    }
  }

  /** Sends what is queued now instead of at the end of the turn. */
  flushNow(): void {
    if (this.#queue.size === 0) return;
    const entries = [...this.#queue.values()];
    this.#queue = new Map();
    void this.#send(entries);
  }

  async #send(entries: Entry[]): Promise<void> {
    this.#inFlight += entries.length;
    for (const e of entries) this.#flying.add(e.op.id);
    const probe = this.#probe;
    const t0 = probe.start();
    try {
      let results: ReadonlyArray<unknown> | void;
      try {
        results = await withTimeout(this.#flush(entries.map((e) => e.op)), this.#o.timeout, `session write batch (${entries.length} ops)`);
      } catch (err) {
        const error = asError(err);
        probe.failed('write', entries.length, error);
        for (const e of entries) for (const w of e.waiters) w.reject(error);
        return;
      }
      probe.done('write', entries.length, t0);
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        const r = results ? results[i] : undefined;
        if (r instanceof Error) {
          const error = asError(r);
          probe.failed('write', 1, error);
          for (const w of e.waiters) w.reject(error);
        } else {
          for (const w of e.waiters) w.resolve(resultFor(w.kind, e.op.kind, r));
        }
      }
    } finally {
      this.#inFlight -= entries.length;
      for (const e of entries) {
        const id = e.op.id;
        this.#flying.delete(id);
        const next = this.#held.get(id);
        if (next !== undefined) {
          this.#held.delete(id);
          this.#queueEntry(next);
        }
      }
      if (this.pending === 0) for (const done of this.#drained.splice(0)) done();
    }
  }

  /** Flushes what is queued, waits for every write in flight or held, then refuses new ones. */
  async close(): Promise<void> {
    this.flushNow();
    this.#closed = true;
    if (this.pending > 0) await new Promise<void>((resolve) => this.#drained.push(resolve));
  }
}

/** Single-flight, turn-batched reads; see the module comment. */
export class ReadBatcher<T> {
  readonly #fetch: FetchMany<T>;
  readonly #o: Required<BatchOptions>;
  readonly #inFlight = new Map<string, Promise<T | null>>();
  #queue: Array<{ id: string; resolve: (v: T | null) => void; reject: (e: Error) => void }> = [];
  #scheduled = false;
  readonly #probe: StoreProbe;

  /** `probe`: the store's counters and diagnostics (probe.ts). */
  constructor(fetch: FetchMany<T>, options?: BatchOptions, probe = new StoreProbe('custom')) {
    this.#fetch = fetch;
    this.#o = batchLimits(options);
    this.#probe = probe;
  }

  get(id: string): Promise<T | null> {
    const shared = this.#inFlight.get(id);
    if (shared !== undefined) return shared;
    const p = new Promise<T | null>((resolve, reject) => {
      this.#queue.push({ id, resolve, reject });
    });
    this.#inFlight.set(id, p);
    if (!this.#o.batch || this.#queue.length >= this.#o.maxBatch) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#flush();
      });
    }
    return p;
  }

  #flush(): void {
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    const inFlight = this.#inFlight;
    const probe = this.#probe;
    const t0 = probe.start();
    const ids = new Array<string>(batch.length);
    for (let i = 0; i < batch.length; i++) ids[i] = batch[i]!.id;
    // Each id is forgotten as its read settles (not one microtask later
    // through a handler per read), so the next read goes to the backend again.
    withTimeout(this.#fetch(ids), this.#o.timeout, `session read batch (${batch.length} ids)`).then(
      (values) => {
        probe.done('read', batch.length, t0);
        let hits = 0;
        let misses = 0;
        for (let i = 0; i < batch.length; i++) {
          const b = batch[i]!;
          const v = values[i];
          inFlight.delete(b.id);
          if (v instanceof Error) {
            const error = asError(v);
            probe.failed('read', 1, error);
            b.reject(error);
          } else {
            if (v == null) misses++;
            else hits++;
            b.resolve(v ?? null);
          }
        }
        probe.hits += hits;
        probe.misses += misses;
      },
      (err: unknown) => {
        const error = asError(err);
        probe.failed('read', batch.length, error);
        for (const b of batch) {
          inFlight.delete(b.id);
          b.reject(error);
        }
      },
    );
  }
}
