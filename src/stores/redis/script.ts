import { createHash } from 'node:crypto';
import type { WriteOp } from '../batcher';
import type { ClientLike } from './client';
import { WRITE_SCRIPT } from './lua';
import { decodeEntry } from './outcome';

export { WRITE_SCRIPT } from './lua';

/**
 * A write batch as ONE command: `EVALSHA` of {@link WRITE_SCRIPT} (lua.ts),
 * which applies `SET PX` / `PEXPIRE` / `DEL` / patch / forward per key.
 *
 * Why: a batch of N single-key commands costs the client N command objects,
 * N encodings and N replies to parse; one script call costs one of each,
 * which roughly halves the client's CPU per saved session (at the price of
 * about 1 µs more of Redis' CPU per plain write: the script's own calls; a
 * patch costs Redis more, see lua.ts). Each key still gets its own outcome
 * (see lua.ts for the reply).
 */

/** SHA1 of {@link WRITE_SCRIPT}, the name EVALSHA runs it by. */
export const WRITE_SCRIPT_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

/** A script call's arguments: `N key1..keyN ops maxRecordSize`. */
type ScriptArgs = Array<string | number | Buffer>;

const OP_BYTE: Record<WriteOp['kind'], number> = {
  set: 0x73, // 's'
  touch: 0x65, // 'e'
  destroy: 0x64, // 'd'
  patch: 0x70, // 'p'
  forward: 0x66, // 'f'
};

/** The batch's ops packed as {@link WRITE_SCRIPT} reads them from `ARGV[1]`. */
export function packOps(ops: readonly WriteOp[], ttls: readonly number[]): Buffer {
  const n = ops.length;
  // TTLs as decimal digits; most writes of a batch share one TTL.
  const digits = new Array<string>(n);
  let lastTtl = -1;
  let lastDigits = '';
  let size = 0;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    if (op.kind === 'destroy') {
      size += 1;
      continue;
    }
    const ttl = ttls[i]!;
    if (ttl !== lastTtl) {
      lastTtl = ttl;
      lastDigits = String(ttl);
    }
    digits[i] = lastDigits;
    size += 2 + lastDigits.length + (op.bytes === null ? 0 : 4 + op.bytes.byteLength);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    out[at++] = OP_BYTE[op.kind];
    if (op.kind === 'destroy') continue;
    const d = digits[i]!;
    out[at++] = d.length;
    for (let k = 0; k < d.length; k++) out[at++] = d.charCodeAt(k);
    const bytes = op.bytes;
    if (bytes !== null) {
      out.writeUInt32BE(bytes.byteLength, at);
      out.set(bytes, at + 4);
      at += 4 + bytes.byteLength;
    }
  }
  return out;
}

/** The script's arguments for one batch (see {@link WRITE_SCRIPT}). */
export function scriptArgs(keys: readonly string[], ops: readonly WriteOp[], ttls: readonly number[], maxRecordSize: number): ScriptArgs {
  const n = ops.length;
  const args: ScriptArgs = [n];
  for (let i = 0; i < n; i++) args.push(keys[i]!);
  args.push(packOps(ops, ttls), maxRecordSize);
  return args;
}

/** The batch's per-op results from the script's reply: nothing when all succeeded plainly. */
export function scriptResults(reply: unknown, ops: readonly WriteOp[]): ReadonlyArray<unknown> | void {
  if (!Array.isArray(reply)) return undefined;
  const out = new Array<unknown>(ops.length);
  for (let i = 0; i < ops.length; i++) out[i] = decodeEntry(ops[i]!.kind, reply[i]);
  return out;
}

/** True when Redis did not run the script because it is not in its script cache. */
export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/**
 * True when Redis refused the script command itself (scripting disabled or
 * renamed, or forbidden by an ACL): nothing ran, and single commands may work.
 */
export function isScriptRefused(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const m = err.message;
  return m.startsWith('NOPERM') || (m.startsWith('ERR unknown command') && /eval/i.test(m));
}

/** What a script-capable client must also offer (ioredis `Redis` and `Cluster` have both). */
export interface ScriptClient extends ClientLike {
  evalshaBuffer(sha: string, ...args: ScriptArgs[]): Promise<unknown>;
  evalBuffer(script: string, ...args: ScriptArgs[]): Promise<unknown>;
}

/** True when `c` can run scripts (ioredis clients can; a look-alike may not). */
export function canScript(c: ClientLike): c is ScriptClient {
  const o = c as Partial<ScriptClient>;
  return typeof o.evalshaBuffer === 'function' && typeof o.evalBuffer === 'function';
}

/**
 * Sends write batches through {@link WRITE_SCRIPT}. The first batch goes as
 * `EVAL` (which also loads the script into the server's cache), the next as
 * `EVALSHA`. When Redis answers NOSCRIPT (restarted, failed over, its cache
 * flushed, or a cluster node that never ran it) nothing ran, so the same
 * batch is sent again as `EVAL`. Replies are read as Buffers: a forward
 * returns the record it replaced, which is binary.
 */
export class ScriptWriter {
  readonly #c: ScriptClient;
  readonly #maxRecordSize: number;
  #loaded = false;

  constructor(c: ScriptClient, maxRecordSize: number) {
    this.#c = c;
    this.#maxRecordSize = maxRecordSize;
  }

  /** Applies one batch; resolves with per-op results as FlushWrites expects. */
  write(keys: readonly string[], ops: readonly WriteOp[], ttls: readonly number[]): Promise<ReadonlyArray<unknown> | void> {
    const args = scriptArgs(keys, ops, ttls, this.#maxRecordSize);
    if (!this.#loaded) return this.#eval(args, ops);
    return this.#c.evalshaBuffer(WRITE_SCRIPT_SHA, args).then((reply) => scriptResults(reply, ops), (err: unknown) => {
      if (!isNoScript(err)) throw err;
      this.#loaded = false;
      return this.#eval(args, ops);
    });
  }

  /** One op alone (a cluster sends patches and forwards this way, one key per call); resolves with its result. */
  writeOne(key: string, op: WriteOp, ttl: number): Promise<unknown> {
    return this.write([key], [op], [ttl]).then((r) => (r ? r[0] : decodeEntry(op.kind, 0)));
  }

  #eval(args: ScriptArgs, ops: readonly WriteOp[]): Promise<ReadonlyArray<unknown> | void> {
    return this.#c.evalBuffer(WRITE_SCRIPT, args).then((reply) => {
      this.#loaded = true;
      return scriptResults(reply, ops);
    });
  }
}
