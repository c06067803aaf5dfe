import { codec } from '../../codec';
import { KIND_FORWARD, KIND_PATCH } from '../../codec/layout';
import { codes, HotsessionError } from '../../errors';
import type { WriteOp } from '../batcher';
import type { PatchOutcome } from '../types';
import { asBuffer, groupBySlot } from './client';
import { malformedPatch, tooLarge } from './outcome';

/**
 * Patches and forwards where Redis runs no scripts (`scripts: false`, Lua
 * disabled, or an ACL without @scripting): optimistic transactions on a
 * connection of the store's own.
 *
 *   WATCH k1..kn ; MGET k1..kn        (one socket write)
 *   apply each patch in this process (codec.apply), by the script's rules
 *   MULTI ; SET ki new PX ttl ... ; EXEC
 *
 * EXEC fails as a whole when any watched key was written in between (by
 * anyone: another process, a touch, a destroy); the batch is then retried
 * in halves, so one busy session cannot hold every other one back, up to
 * {@link TRIES} rounds, after which its ops fail with HOTSESSION_ERR_STORE.
 * That is the same guarantee the script gives (each patch applied to the
 * record as it is at that moment, no resurrection, a marker never patched)
 * at two round trips per batch instead of one.
 *
 * WATCH belongs to a connection and every EXEC clears it, so transactions
 * must not interleave on one: they run one at a time on a duplicate of the
 * user's client, and ops that arrive meanwhile go together in the next one
 * (the batcher keeps one op per id in flight, so their keys are distinct).
 * On a Cluster each slot's ops are one transaction (WATCH and MULTI must
 * stay in one slot).
 */

/** Rounds of WATCH/EXEC before an op gives up. */
export const TRIES = 12;

/** What the lane needs from an ioredis client (a duplicate of the user's). */
export interface TxClient {
  watch(...keys: string[]): Promise<unknown>;
  unwatch(): Promise<unknown>;
  mgetBuffer(keys: string[]): Promise<Array<Buffer | null>>;
  multi(): TxMulti;
  quit(): Promise<unknown>;
  disconnect?(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

interface TxMulti {
  set(key: string, value: Buffer, mode: 'PX', ms: number): unknown;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/** ioredis' error for an EXEC Redis discarded (a queued command was refused), with the refusals. */
interface ExecAbort extends Error {
  previousErrors?: Error[];
}

function isExecAbort(err: unknown): err is ExecAbort {
  return err instanceof Error && err.message.startsWith('EXECABORT');
}

interface Item {
  key: string;
  op: WriteOp;
  ttl: number;
  done: (result: unknown) => void;
}

/** What a patch or forward does to the value `cur` the key holds, by the rules of lua.ts. */
interface Plan {
  result: unknown;
  write: Buffer | null;
}

/** The outcome of `op` against `cur` (null: absent), computed as the write script would. */
export function plan(op: WriteOp, cur: Buffer | null, maxRecordSize: number): Plan {
  const bytes = op.bytes!;
  if (op.kind === 'forward') {
    if (cur === null || codec.scan(cur)?.kind === KIND_FORWARD) return { result: null, write: null };
    return { result: cur, write: asBuffer(bytes) };
  }
  if (cur === null) return { result: 'gone' satisfies PatchOutcome, write: null };
  if (codec.scan(bytes)?.kind !== KIND_PATCH) return { result: malformedPatch(), write: null };
  const view = codec.scan(cur);
  if (view?.kind === KIND_FORWARD) return { result: { movedTo: view.target! } satisfies PatchOutcome, write: null };
  const next = codec.apply(cur, bytes);
  if (next === null) return { result: 'stale' satisfies PatchOutcome, write: null };
  if (next.length > maxRecordSize) return { result: tooLarge('the patched record', next.length, maxRecordSize), write: null };
  return { result: 'ok' satisfies PatchOutcome, write: next };
}

export class TxLane {
  readonly #open: () => TxClient;
  readonly #cluster: boolean;
  readonly #max: number;
  #client: TxClient | null = null;
  #queue: Item[] = [];
  #running = false;

  /** `open` creates the lane's connection, on first use. */
  constructor(open: () => TxClient, cluster: boolean, maxRecordSize: number) {
    this.#open = open;
    this.#cluster = cluster;
    this.#max = maxRecordSize;
  }

  /** Applies patches and forwards; one result per op (an Error for an op that failed), never a rejection. */
  run(keys: readonly string[], ops: readonly WriteOp[], ttls: readonly number[]): Promise<unknown[]> {
    const results = new Array<unknown>(ops.length);
    let left = ops.length;
    return new Promise((resolve) => {
      for (let i = 0; i < ops.length; i++) {
        this.#queue.push({
          key: keys[i]!, op: ops[i]!, ttl: ttls[i]!,
          done: (r) => {
            results[i] = r;
            if (--left === 0) resolve(results);
          },
        });
      }
      void this.#pump();
    });
  }

  /** Closes the lane's connection (if it was ever opened). */
  async close(): Promise<void> {
    const c = this.#client;
    this.#client = null;
    if (c !== null) await c.quit().catch(() => c.disconnect?.());
  }

  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const items = this.#queue;
        this.#queue = [];
        if (!this.#cluster) await this.#attempt(items, TRIES);
        else for (const g of groupBySlot(items.map((it) => it.key))) await this.#attempt(g.map((j) => items[j]!), TRIES);
      }
    } finally {
      this.#running = false;
    }
  }

  async #split(items: Item[], tries: number): Promise<void> {
    const half = items.length >> 1;
    await this.#attempt(items.slice(0, half), tries - 1);
    await this.#attempt(items.slice(half), tries - 1);
  }

  async #attempt(items: Item[], tries: number): Promise<void> {
    let c: TxClient;
    try {
      c = this.#client ??= this.#open();
    } catch (err) {
      for (const it of items) it.done(err);
      return;
    }
    const keys = items.map((it) => it.key);
    let cur: Array<Buffer | null>;
    try {
      const watched = c.watch(...keys);
      const read = c.mgetBuffer(keys);
      await watched;
      cur = await read;
    } catch (err) {
      await c.unwatch().catch(() => undefined);
      for (const it of items) it.done(err);
      return;
    }
    const plans = items.map((it, j) => plan(it.op, cur[j] ?? null, this.#max));
    const m = c.multi();
    const writing: number[] = [];
    for (let j = 0; j < items.length; j++) {
      const w = plans[j]!.write;
      if (w === null) continue;
      writing.push(j);
      m.set(items[j]!.key, w, 'PX', items[j]!.ttl);
    }
    if (writing.length === 0) {
      await c.unwatch().catch(() => undefined);
      for (let j = 0; j < items.length; j++) items[j]!.done(plans[j]!.result);
      return;
    }
    let replies: Array<[Error | null, unknown]> | null;
    try {
      replies = await m.exec();
    } catch (err) {
      // EXECABORT: Redis refused a queued SET (OOM) and ran none. Which one is
      // not said, so halve until each refused op fails alone, with its own error.
      if (!isExecAbort(err)) for (const it of items) it.done(err);
      else if (writing.length > 1) await this.#split(items, tries);
      else {
        // The others wrote nothing: what they found when read stands.
        plans[writing[0]!]!.result = err.previousErrors?.[0] ?? err;
        for (let j = 0; j < items.length; j++) items[j]!.done(plans[j]!.result);
      }
      return;
    }
    if (replies === null) {
      // A watched key changed: nothing was written. Retry, the busy key alone eventually.
      if (tries <= 1) {
        const err = new HotsessionError(codes.STORE, `session records kept changing during ${TRIES} WATCH/MULTI rounds; nothing was written`);
        for (const it of items) it.done(err);
      } else if (items.length > 1) {
        await this.#split(items, tries);
      } else {
        await this.#attempt(items, tries - 1);
      }
      return;
    }
    for (let k = 0; k < writing.length; k++) {
      const failed = replies[k]?.[0];
      if (failed) plans[writing[k]!]!.result = failed;
    }
    for (let j = 0; j < items.length; j++) items[j]!.done(plans[j]!.result);
  }
}
