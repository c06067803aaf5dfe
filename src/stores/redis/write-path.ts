import { debuglog } from 'node:util';
import { codes, HotsessionError } from '../../errors';
import type { WriteOp } from '../batcher';
import { isConditional, writeBatch, type ClientLike } from './client';
import { isScriptRefused, type ScriptWriter } from './script';
import { TxLane, type TxClient } from './tx-lane';

const debug = debuglog('hotsession');

/**
 * How a write batch reaches Redis:
 *
 *   standalone, scripts on     one EVALSHA for the batch (a single set,
 *                              touch or destroy goes as its plain command)
 *   cluster, scripts on        corked single-key commands, a patch or a
 *                              forward as an EVALSHA of one key
 *   scripts off or refused     corked single-key commands, patches and
 *                              forwards as WATCH/MULTI transactions (tx-lane.ts)
 *
 * A server that refuses scripts (NOPERM, EVAL unknown) is noticed on the
 * first batch: nothing of it ran, it is resent the scriptless way, and
 * scripts stay off for this store.
 */
export class WritePath {
  readonly #c: ClientLike;
  readonly #cluster: boolean;
  readonly #maxRecordSize: number;
  #script: ScriptWriter | null;
  #lane: TxLane | null = null;

  constructor(c: ClientLike, cluster: boolean, script: ScriptWriter | null, maxRecordSize: number) {
    this.#c = c;
    this.#cluster = cluster;
    this.#script = script;
    this.#maxRecordSize = maxRecordSize;
  }

  /** True while writes go through the script. */
  get scripted(): boolean {
    return this.#script !== null;
  }

  /** Applies one batch; per-op results as FlushWrites expects. */
  send(keys: readonly string[], ops: readonly WriteOp[], ttls: readonly number[]): Promise<ReadonlyArray<unknown> | void> {
    const script = this.#script;
    if (script === null || this.#cluster || (ops.length === 1 && !isConditional(ops[0]!))) return this.#single(keys, ops, ttls);
    return script.write(keys, ops, ttls).catch((err: unknown) => {
      if (!this.#refused(script, err)) throw err;
      return this.#single(keys, ops, ttls);
    });
  }

  /** Closes the transaction lane's connection, if one was opened. */
  close(): Promise<void> {
    return this.#lane?.close() ?? Promise.resolve();
  }

  /** Single-key commands; patches and forwards by script per key, or by transaction. */
  #single(keys: readonly string[], ops: readonly WriteOp[], ttls: readonly number[]): Promise<ReadonlyArray<unknown> | void> {
    const script = this.#script;
    if (script !== null) {
      return writeBatch(this.#c, this.#cluster, keys, ops, ttls, (key, op, ttl) => script.writeOne(key, op, ttl).catch((err: unknown) => {
        if (!this.#refused(script, err)) throw err;
        return this.#transact().run([key], [op], [ttl]).then((r) => r[0]);
      }));
    }
    let conditional = 0;
    for (const op of ops) if (isConditional(op)) conditional++;
    if (conditional === 0) return writeBatch(this.#c, this.#cluster, keys, ops, ttls, null);
    if (conditional === ops.length) return this.#transact().run(keys, ops, ttls);
    // Plain ops as corked commands, the others as one transaction, at the same time.
    const plain: number[] = [];
    const txn: number[] = [];
    for (let i = 0; i < ops.length; i++) (isConditional(ops[i]!) ? txn : plain).push(i);
    const pick = <T>(list: readonly T[], at: number[]): T[] => at.map((i) => list[i]!);
    return Promise.all([
      writeBatch(this.#c, this.#cluster, pick(keys, plain), pick(ops, plain), pick(ttls, plain), null),
      this.#transact().run(pick(keys, txn), pick(ops, txn), pick(ttls, txn)),
    ]).then(([a, b]) => {
      const out = new Array<unknown>(ops.length);
      plain.forEach((i, j) => { out[i] = a ? a[j] : undefined; });
      txn.forEach((i, j) => { out[i] = b[j]; });
      return out;
    });
  }

  /** True (and scripts off from now on) when `err` says the server refuses scripts. */
  #refused(script: ScriptWriter, err: unknown): boolean {
    if (!isScriptRefused(err)) return false;
    if (this.#script === script) {
      debug('redis refused the write script (%s); using single commands and WATCH/MULTI', (err as Error).message);
      this.#script = null;
    }
    return true;
  }

  #transact(): TxLane {
    return this.#lane ??= new TxLane(() => this.#openLane(), this.#cluster, this.#maxRecordSize);
  }

  #openLane(): TxClient {
    if (typeof this.#c.duplicate !== 'function') {
      throw new HotsessionError(codes.STORE, 'patches without scripts need a client with duplicate() (an ioredis Redis or Cluster)');
    }
    const lane = this.#c.duplicate() as TxClient;
    lane.on('error', (err: Error) => debug('redis transaction connection error: %s', err.message));
    return lane;
  }
}
