import { createHash } from 'node:crypto';
import type { WriteOp } from '../batcher';
import type { ClientLike } from './client';

/**
 * A write batch as ONE command on a standalone Redis: `EVALSHA` of a small
 * Lua script that applies `SET PX` / `PEXPIRE` / `DEL` per key.
 *
 * Why: a batch of N single-key commands costs the client N command objects,
 * N encodings and N replies to parse; one script call costs one of each,
 * which roughly halves the client's CPU per saved session (at the price of
 * about 1 µs more of Redis' CPU per write: the script's own calls). Each key
 * still gets its own outcome: the script runs every command with
 * `redis.pcall` and reports per-key errors, so one refused write (OOM)
 * fails only its own save. It returns the integer 0 when every write
 * succeeded (the common case: nothing to parse), else one entry per key, 0
 * or an error message.
 *
 * Arguments: `KEYS[i]` is the i-th key (every key is declared, as Redis
 * asks); `ARGV[1]` holds the ops in key order, packed by {@link packOps},
 * so the client encodes one argument for the whole batch instead of two
 * per write (the arguments' encoding was the largest client cost left).
 * An op is a byte (`s` SET, `e` PEXPIRE, `d` DEL); for `s` and `e` a byte
 * `L` and the TTL in ms as L ASCII digits (handed to Redis as they are);
 * for `s` the record's length (4 bytes, big-endian) and its bytes. Plain
 * Lua only (no `struct` library), for servers that ship a bare interpreter.
 *
 * SETs run first: while Redis is out of memory (maxmemory, noeviction) it
 * refuses a script's memory-growing writes only until the script's first
 * successful write, so running every SET before any PEXPIRE/DEL refuses the
 * same SETs that single commands would. Keys of one batch are distinct
 * (the batcher coalesces writes per id), so the order does not matter
 * otherwise.
 */
export const WRITE_SCRIPT = `local b = ARGV[1]
local pos = 1
local out, bad = {}, 0
local later, ttls = {}, {}
local function put(i, r)
  if type(r) == 'table' and r.err then
    out[i] = r.err
    bad = bad + 1
  else
    out[i] = 0
  end
end
for i = 1, #KEYS do
  local kind = string.byte(b, pos)
  if kind == 100 then
    later[#later + 1] = i
    ttls[#later] = false
    pos = pos + 1
  else
    local len = string.byte(b, pos + 1)
    local ttl = string.sub(b, pos + 2, pos + 1 + len)
    pos = pos + 2 + len
    if kind == 101 then
      later[#later + 1] = i
      ttls[#later] = ttl
    else
      local b1, b2, b3, b4 = string.byte(b, pos, pos + 3)
      local size = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
      put(i, redis.pcall('SET', KEYS[i], string.sub(b, pos + 4, pos + 3 + size), 'PX', ttl))
      pos = pos + 4 + size
    end
  end
end
for j = 1, #later do
  local i, ttl = later[j], ttls[j]
  if ttl then put(i, redis.pcall('PEXPIRE', KEYS[i], ttl)) else put(i, redis.pcall('DEL', KEYS[i])) end
end
if bad == 0 then return 0 end
return out
`;

/** SHA1 of {@link WRITE_SCRIPT}, the name EVALSHA runs it by. */
export const WRITE_SCRIPT_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

/** A script call's arguments: `N key1..keyN ops`. */
type ScriptArgs = Array<string | number | Buffer>;

const SET = 0x73; // 's'
const TOUCH = 0x65; // 'e'
const DEL = 0x64; // 'd'

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
    size += 2 + lastDigits.length + (op.kind === 'set' ? 4 + op.bytes!.byteLength : 0);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    if (op.kind === 'destroy') {
      out[at++] = DEL;
      continue;
    }
    const d = digits[i]!;
    out[at] = op.kind === 'set' ? SET : TOUCH;
    out[at + 1] = d.length;
    at += 2;
    for (let k = 0; k < d.length; k++) out[at++] = d.charCodeAt(k);
    if (op.kind === 'set') {
      const record = op.bytes!;
      out.writeUInt32BE(record.byteLength, at);
      out.set(record, at + 4);
      at += 4 + record.byteLength;
    }
  }
  return out;
}

/** The script's arguments for one batch (see {@link WRITE_SCRIPT}). */
export function scriptArgs(keys: readonly string[], ops: readonly WriteOp[], ttls: readonly number[]): ScriptArgs {
  const n = ops.length;
  const args: ScriptArgs = [n];
  for (let i = 0; i < n; i++) args.push(keys[i]!);
  args.push(packOps(ops, ttls));
  return args;
}

/** The batch's per-op results from the script's reply: nothing when all succeeded. */
export function scriptResults(reply: unknown): ReadonlyArray<unknown> | void {
  if (!Array.isArray(reply)) return undefined;
  const out = new Array<unknown>(reply.length);
  for (let i = 0; i < reply.length; i++) {
    const r: unknown = reply[i];
    out[i] = r === 0 ? r : new Error(String(r));
  }
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

/** What a script-capable client must also offer (ioredis `Redis` has both). */
export interface ScriptClient extends ClientLike {
  evalsha(sha: string, ...args: Array<ScriptArgs | string | number>): Promise<unknown>;
  eval(script: string, ...args: Array<ScriptArgs | string | number>): Promise<unknown>;
}

/** True when `c` can run scripts (ioredis `Redis` can; a look-alike may not). */
export function canScript(c: ClientLike): c is ScriptClient {
  const o = c as Partial<ScriptClient>;
  return typeof o.evalsha === 'function' && typeof o.eval === 'function';
}

/**
 * Sends write batches through {@link WRITE_SCRIPT}. The first batch goes as
 * `EVAL` (which also loads the script into the server's cache), the next as
 * `EVALSHA`. When Redis answers NOSCRIPT (restarted, failed over, or its
 * cache flushed) nothing ran, so the same batch is sent again as `EVAL`.
 */
export class ScriptWriter {
  readonly #c: ScriptClient;
  #loaded = false;

  constructor(c: ScriptClient) {
    this.#c = c;
  }

  /** Applies one batch; resolves with per-op results as {@link FlushWrites} expects. */
  write(keys: readonly string[], ops: readonly WriteOp[], ttls: readonly number[]): Promise<ReadonlyArray<unknown> | void> {
    const args = scriptArgs(keys, ops, ttls);
    if (!this.#loaded) return this.#eval(args);
    return this.#c.evalsha(WRITE_SCRIPT_SHA, args).then(scriptResults, (err: unknown) => {
      if (!isNoScript(err)) throw err;
      this.#loaded = false;
      return this.#eval(args);
    });
  }

  #eval(args: ScriptArgs): Promise<ReadonlyArray<unknown> | void> {
    return this.#c.eval(WRITE_SCRIPT, args).then((reply) => {
      this.#loaded = true;
      return scriptResults(reply);
    });
  }
}
