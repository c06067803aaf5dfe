import type { WriteOp } from '../batcher';
import { keySlot } from './slot';

/**
 * What the store needs from an ioredis `Redis` or `Cluster`, checked by duck
 * typing at runtime so `hotsession/redis` never loads ioredis itself: the
 * user's instance may come from a copy installed anywhere.
 */
export interface PipelineLike {
  set(key: string, value: Buffer, mode: 'PX', ms: number): unknown;
  pexpire(key: string, ms: number): unknown;
  del(key: string): unknown;
  getBuffer(key: string): unknown;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

export interface ClientLike {
  pipeline(): PipelineLike;
  getBuffer(key: string): Promise<Buffer | null>;
  mgetBuffer(keys: string[]): Promise<Array<Buffer | null>>;
  set(key: string, value: Buffer, mode: 'PX', ms: number): Promise<unknown>;
  pexpire(key: string, ms: number): Promise<unknown>;
  del(key: string): Promise<unknown>;
  quit(): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  /** ioredis sets it on both classes: true on a Cluster. */
  isCluster?: boolean;
  /** Cluster only: slot -> node keys serving it (master first). */
  slots?: string[][];
}

/** True when `c` looks like an ioredis client the store can drive. */
export function isClientLike(c: unknown): c is ClientLike {
  if (c === null || typeof c !== 'object') return false;
  const o = c as Record<string, unknown>;
  return typeof o.pipeline === 'function' && typeof o.getBuffer === 'function' && typeof o.mgetBuffer === 'function'
    && typeof o.set === 'function' && typeof o.pexpire === 'function' && typeof o.del === 'function';
}

export function isCluster(c: ClientLike): boolean {
  return c.isCluster === true || (c.constructor as { name?: string } | undefined)?.name === 'Cluster';
}

/** Views a record as a Buffer without copying (ioredis stringifies other typed arrays). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function addOp(p: PipelineLike, key: string, op: WriteOp, ttl: number): void {
  if (op.kind === 'set') p.set(key, asBuffer(op.record!), 'PX', ttl);
  else if (op.kind === 'touch') p.pexpire(key, ttl);
  else p.del(key);
}

function sendOne(c: ClientLike, key: string, op: WriteOp, ttl: number): Promise<unknown> {
  if (op.kind === 'set') return c.set(key, asBuffer(op.record!), 'PX', ttl);
  if (op.kind === 'touch') return c.pexpire(key, ttl);
  return c.del(key);
}

/** One entry per command: its error, or null. */
function errorsOf(res: Array<[Error | null, unknown]> | null, n: number): Array<Error | null> {
  if (res === null) throw new Error('pipeline was discarded');
  const out = new Array<Error | null>(n);
  for (let i = 0; i < n; i++) out[i] = res[i]?.[0] ?? null;
  return out;
}

/**
 * Splits key indexes into groups one cluster pipeline may carry: keys whose
 * slots are served by the same nodes (ioredis refuses a pipeline spanning
 * "slots allocation groups"). Before the slot map is known, keys are grouped
 * by slot, which is always safe.
 */
export function groupForCluster(c: ClientLike, keys: readonly string[]): number[][] {
  const map = c.slots ?? [];
  const groups = new Map<string | number, number[]>();
  for (let i = 0; i < keys.length; i++) {
    const slot = keySlot(keys[i]!);
    const nodes = map[slot];
    const g = nodes !== undefined && nodes.length > 0 ? nodes.join(';') : slot;
    const list = groups.get(g);
    if (list === undefined) groups.set(g, [i]);
    else list.push(i);
  }
  return [...groups.values()];
}

/**
 * Sends one write batch: a single command alone, otherwise one pipeline
 * (one per node group on a cluster). Resolves with one entry per op, an
 * Error for each op Redis refused.
 */
export async function writeBatch(c: ClientLike, cluster: boolean, keys: readonly string[], ops: readonly WriteOp[], ttls: readonly number[]): Promise<Array<Error | null> | void> {
  if (ops.length === 1) {
    await sendOne(c, keys[0]!, ops[0]!, ttls[0]!);
    return;
  }
  if (!cluster) {
    const p = c.pipeline();
    for (let i = 0; i < ops.length; i++) addOp(p, keys[i]!, ops[i]!, ttls[i]!);
    return errorsOf(await p.exec(), ops.length);
  }
  const out = new Array<Error | null>(ops.length).fill(null);
  await Promise.all(groupForCluster(c, keys).map(async (group) => {
    try {
      const p = c.pipeline();
      for (const i of group) addOp(p, keys[i]!, ops[i]!, ttls[i]!);
      const errs = errorsOf(await p.exec(), group.length);
      for (let j = 0; j < group.length; j++) out[group[j]!] = errs[j]!;
    } catch (err) {
      // One node's failure fails only the writes it carried.
      for (const i of group) out[i] = err as Error;
    }
  }));
  return out;
}

/** Fetches one read batch: GET, one MGET, or a pipeline of GETs per node group on a cluster. */
export async function readBatch(c: ClientLike, cluster: boolean, keys: readonly string[]): Promise<Array<Buffer | null | Error>> {
  if (keys.length === 1) return [await c.getBuffer(keys[0]!)];
  if (!cluster) return c.mgetBuffer(keys as string[]);
  const out = new Array<Buffer | null | Error>(keys.length).fill(null);
  await Promise.all(groupForCluster(c, keys).map(async (group) => {
    try {
      const p = c.pipeline();
      for (const i of group) p.getBuffer(keys[i]!);
      const res = await p.exec();
      if (res === null) throw new Error('pipeline was discarded');
      for (let j = 0; j < group.length; j++) {
        const [err, value] = res[j] ?? [new Error('missing reply'), null];
        out[group[j]!] = err ?? ((value as Buffer | null) ?? null);
      }
    } catch (err) {
      for (const i of group) out[i] = err as Error;
    }
  }));
  return out;
}
