import { codes, HotsessionError } from '../errors';

/**
 * Shared batching machinery for backend stores.
 *
 * Writes issued in one event-loop turn go to the backend together: the
 * batch flushes on `setImmediate` (after every microtask of the turn, so
 * the saves of many requests handled in one turn share a round trip) or as
 * soon as it reaches `maxBatch`. Two writes to one id in a batch collapse
 * to the last, except that a destroy is never overridden (a logout wins over
 * a concurrent save). Every caller's promise settles when the backend
 * acknowledged the batch that carried its write, or rejects with that
 * batch's error (or with its own op's error when the backend reports per op).
 *
 * Reads of one id in flight share one backend round trip; reads of one turn
 * go to the backend as one multi-get.
 */

/** One write as the backend sees it. */
export interface WriteOp {
  kind: 'set' | 'touch' | 'destroy';
  id: string;
  /** The framed record (`set` only). */
  record: Uint8Array | null;
  /** Lifetime from now in ms (`set`/`touch`). */
  ttlMs: number;
}

/**
 * Sends one batch. Resolve with nothing when every op succeeded, or with one
 * entry per op (an Error for each op that failed, anything else for success);
 * reject when the whole batch failed.
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

interface Entry {
  op: WriteOp;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function defer(op: WriteOp): Entry {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { op, promise, resolve, reject };
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

/** Coalesces and batches writes; see the module comment. */
export class WriteBatcher {
  readonly #flush: FlushWrites;
  readonly #o: Required<BatchOptions>;
  #queue = new Map<string, Entry>();
  #scheduled = false;
  #inFlight = 0;
  #closed = false;
  readonly #drained: Array<() => void> = [];

  constructor(flush: FlushWrites, options?: BatchOptions) {
    this.#flush = flush;
    this.#o = batchLimits(options);
  }

  /** Writes waiting or in flight. */
  get pending(): number {
    return this.#queue.size + this.#inFlight;
  }

  enqueue(kind: WriteOp['kind'], id: string, record: Uint8Array | null, ttlMs: number): Promise<void> {
    if (this.#closed) return Promise.reject(new HotsessionError(codes.STORE_CLOSED, 'the store is closed'));
    const op: WriteOp = { kind, id, record, ttlMs };
    const queued = this.#queue.get(id);
    if (queued !== undefined && this.#o.batch) {
      const prev = queued.op;
      if (prev.kind === 'destroy') return queued.promise;
      if (kind === 'touch' && prev.kind === 'set') prev.ttlMs = ttlMs;
      else queued.op = op;
      return queued.promise;
    }
    if (this.pending >= this.#o.maxPending) {
      return Promise.reject(new HotsessionError(codes.QUEUE_FULL, `${this.pending} session writes are already pending (maxPending ${this.#o.maxPending})`));
    }
    const entry = defer(op);
    if (!this.#o.batch) {
      void this.#send([entry]);
      return entry.promise;
    }
    this.#queue.set(id, entry);
    if (this.#queue.size >= this.#o.maxBatch) this.flushNow();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.flushNow();
      });
    }
    return entry.promise;
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
    try {
      let results: ReadonlyArray<unknown> | void;
      try {
        results = await withTimeout(this.#flush(entries.map((e) => e.op)), this.#o.timeout, `session write batch (${entries.length} ops)`);
      } catch (err) {
        const error = asError(err);
        for (const e of entries) e.reject(error);
        return;
      }
      for (let i = 0; i < entries.length; i++) {
        const r = results ? results[i] : undefined;
        if (r instanceof Error) entries[i]!.reject(asError(r));
        else entries[i]!.resolve();
      }
    } finally {
      this.#inFlight -= entries.length;
      if (this.pending === 0) for (const done of this.#drained.splice(0)) done();
    }
  }

  /** Flushes what is queued, waits for every write in flight, then refuses new ones. */
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

  constructor(fetch: FetchMany<T>, options?: BatchOptions) {
    this.#fetch = fetch;
    this.#o = batchLimits(options);
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
    const ids = new Array<string>(batch.length);
    for (let i = 0; i < batch.length; i++) ids[i] = batch[i]!.id;
    // Each id is forgotten as its read settles (not one microtask later
    // through a handler per read), so the next read goes to the backend again.
    withTimeout(this.#fetch(ids), this.#o.timeout, `session read batch (${batch.length} ids)`).then(
      (values) => {
        for (let i = 0; i < batch.length; i++) {
          const b = batch[i]!;
          const v = values[i];
          inFlight.delete(b.id);
          if (v instanceof Error) b.reject(asError(v));
          else b.resolve(v ?? null);
        }
      },
      (err: unknown) => {
        const error = asError(err);
        for (const b of batch) {
          inFlight.delete(b.id);
          b.reject(error);
        }
      },
    );
  }
}
