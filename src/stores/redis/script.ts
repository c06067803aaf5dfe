import { createHash } from 'node:crypto';
import type { WriteOp } from '../batcher';
import { asBuffer, type ClientLike } from './client';

/**
 * A write batch as ONE command on a standalone Redis: `EVALSHA` of a small
 * Lua script that applies `SET PX` / `PEXPIRE` / `DEL` per key.
 *
 * Why: a batch of N single-key commands costs the client N command objects,
 * N encodings and N replies to parse; one script call costs one of each,
 * which roughly halves the client's CPU per saved session. Each key still
 * gets its own outcome: the script runs every command with `redis.pcall`
 * and reports per-key errors, so one refused write (OOM) fails only its own
 * save. It returns the integer 0 when every write succeeded (the common
 * case: nothing to parse), else one entry per key, 0 or an error message.
 *
 * Arguments: `KEYS[i]` is the i-th key; `ARGV[2i-1]` its op, `ARGV[2i]` the
 * record for a set (empty otherwise). An op is the TTL in ms (digits) for
 * `SET key record PX ttl`, `e<ttl>` for `PEXPIRE key ttl`, or `d` for `DEL`.
 *
 * SETs run first: while Redis is out of memory (maxmemory, noeviction) it
 * refuses a script's memory-growing writes only until the script's first
 * successful write, so running every SET before any PEXPIRE/DEL refuses the
 * same SETs that single commands would. Keys of one batch are distinct
 * (the batcher coalesces writes per id), so the order does not matter
 * otherwise.
 */
export const WRITE_SCRIPT = `local n = #KEYS
local out, bad = {}, 0
local function put(i, r)
  if type(r) == 'table' and r.err then
    out[i] = r.err
    bad = bad + 1
  else
    out[i] = 0
  end
end
for i = 1, n do
  local op = ARGV[2 * i - 1]
  local c = string.byte(op)
  if c ~= 100 and c ~= 101 then put(i, redis.pcall('SET', KEYS[i], ARGV[2 * i], 'PX', op)) end
end
for i = 1, n do
  local op = ARGV[2 * i - 1]
  local c = string.byte(op)
  if c == 101 then put(i, redis.pcall('PEXPIRE', KEYS[i], string.sub(op, 2)))
  elseif c == 100 then put(i, redis.pcall('DEL', KEYS[i])) end
end
if bad == 0 then return 0 end
return out
`;

/** SHA1 of {@link WRITE_SCRIPT}, the name EVALSHA runs it by. */
export const WRITE_SCRIPT_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

/** A script call's arguments: `N key1..keyN op1 value1 .. opN valueN`. */
type ScriptArgs = Array<string | number | Buffer>;

const EMPTY = Buffer.alloc(0);

/** The script's arguments for one batch (see {@link WRITE_SCRIPT}). */
export function scriptArgs(keys: readonly string[], ops: readonly WriteOp[], ttls: readonly number[]): ScriptArgs {
  const n = ops.length;
  const args: ScriptArgs = new Array(1 + 3 * n);
  args[0] = n;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    args[1 + i] = keys[i]!;
    const at = 1 + n + 2 * i;
    if (op.kind === 'set') {
      args[at] = ttls[i]!;
      args[at + 1] = asBuffer(op.record!);
    } else {
      args[at] = op.kind === 'touch' ? `e${ttls[i]!}` : 'd';
      args[at + 1] = EMPTY;
    }
  }
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
