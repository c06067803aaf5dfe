import { codes, HotsessionError } from '../../errors';
import type { Lanes } from './lanes';

/**
 * Write ops cut into chunks of at most `size`, each chunk one task of a
 * Lanes gate (FerretDB's write path; see MongoStore#write). A chunk still
 * waiting for its lane takes the ops of later batches until it is full,
 * so the ops that arrive while the server is busy leave together as the
 * next command instead of as one command each: with one lane and a command
 * that takes several round trips ('lock' atomicity), one chunk per batch
 * cannot keep up with a steady load, its queue grows until every batch
 * waits past its timeout, and it never drains while the load goes on.
 *
 * When a chunk gets its lane, ops whose batch has timed out meanwhile
 * (`timeoutMs` after they were handed in) are not sent: their callers were
 * answered STORE_TIMEOUT already, and sending them would only delay the
 * live ops behind them. Of two ops of one id in a chunk (the first one's
 * batch timed out, so the batcher let the second go) only the later is sent.
 */
export class Chunks<Op extends { id: string }> {
  readonly #size: number;
  readonly #lanes: Lanes;
  readonly #timeoutMs: number;
  readonly #send: (ops: Op[]) => Promise<unknown[]>;
  /** The chunk waiting for its lane, open to more ops; null once it started. */
  #open: Chunk<Op> | null = null;

  constructor(size: number, lanes: Lanes, timeoutMs: number, send: (ops: Op[]) => Promise<unknown[]>) {
    this.#size = size;
    this.#lanes = lanes;
    this.#timeoutMs = timeoutMs;
    this.#send = send;
  }

  /** Sends `ops`; resolves with one result per op (as `send` gives them), rejects when a chunk carrying one failed whole. */
  async run(ops: Op[]): Promise<unknown[]> {
    const deadline = performance.now() + this.#timeoutMs;
    const parts: Array<Promise<unknown[]>> = [];
    for (let i = 0; i < ops.length;) {
      let c = this.#open;
      if (c === null || c.ops.length >= this.#size) c = this.#start();
      const from = c.ops.length;
      const take = Math.min(this.#size - from, ops.length - i);
      for (let k = 0; k < take; k++) c.ops.push({ op: ops[i + k]!, deadline });
      parts.push(c.done.then((r) => r.slice(from, from + take)));
      i += take;
    }
    return (await Promise.all(parts)).flat();
  }

  #start(): Chunk<Op> {
    const c: Chunk<Op> = { ops: [], done: undefined as never };
    // Lanes starts a task a microtask later at the earliest, so the ops of the
    // run() that opened the chunk are in it before it is sent.
    c.done = this.#lanes.run(() => {
      if (this.#open === c) this.#open = null;
      return this.#sendLive(c.ops);
    });
    this.#open = c;
    return c;
  }

  async #sendLive(entries: Array<Queued<Op>>): Promise<unknown[]> {
    const now = performance.now();
    const results = new Array<unknown>(entries.length).fill(undefined);
    const lastOf = new Map<string, number>();
    entries.forEach((e, i) => lastOf.set(e.op.id, i));
    const live: number[] = [];
    entries.forEach((e, i) => {
      if (e.deadline > now && lastOf.get(e.op.id) === i) live.push(i);
      else results[i] = new HotsessionError(codes.STORE_TIMEOUT, `session write to ${e.op.id} not sent: its batch timed out while waiting for the server`);
    });
    if (live.length === 0) return results;
    const sent = await this.#send(live.map((i) => entries[i]!.op));
    live.forEach((i, k) => (results[i] = sent[k]));
    return results;
  }
}

interface Queued<Op> {
  op: Op;
  /** performance.now() past which the op's batch has timed out. */
  deadline: number;
}

interface Chunk<Op> {
  ops: Array<Queued<Op>>;
  done: Promise<unknown[]>;
}
