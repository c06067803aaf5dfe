import type { WriteOp } from '../batcher';
import { keySlot } from './slot';

/** A socket whose writes can be coalesced (net.Socket, tls.TLSSocket). */
export interface CorkableStream {
  cork(): void;
  uncork(): void;
}

/**
 * What the store needs from an ioredis `Redis` or `Cluster`, checked by duck
 * typing at runtime so `hotsession/redis` never loads ioredis itself: the
 * user's instance may come from a copy installed anywhere.
 */
export interface ClientLike {
  getBuffer(key: string): Promise<Buffer | null>;
  mgetBuffer(keys: string[]): Promise<Array<Buffer | null>>;
  set(key: string, value: Buffer, mode: 'PX', ms: number): Promise<unknown>;
  pexpire(key: string, ms: number): Promise<unknown>;
  del(key: string): Promise<unknown>;
  quit(): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  /** ioredis sets it on both classes: true on a Cluster. */
  isCluster?: boolean;
  /** Standalone: the socket (absent or not writable while disconnected). */
  stream?: unknown;
  /** Cluster only: the node clients. */
  nodes?(role: 'master'): Array<{ stream?: unknown }>;
  /** A new client with the same options (ioredis has it on both classes): the connection of the WATCH/MULTI lane. */
  duplicate?(): unknown;
}

/** True when `c` looks like an ioredis client the store can drive. */
export function isClientLike(c: unknown): c is ClientLike {
  if (c === null || typeof c !== 'object') return false;
  const o = c as Record<string, unknown>;
  return typeof o.getBuffer === 'function' && typeof o.mgetBuffer === 'function'
    && typeof o.set === 'function' && typeof o.pexpire === 'function' && typeof o.del === 'function';
}

export function isCluster(c: ClientLike): boolean {
  return c.isCluster === true || (c.constructor as { name?: string } | undefined)?.name === 'Cluster';
}

/** Views a record as a Buffer without copying (ioredis stringifies other typed arrays). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Sends a patch or a forward (they need a script or a transaction); resolves with the op's result. */
export type SendConditional = (key: string, op: WriteOp, ttl: number) => Promise<unknown>;

/** True for the ops no single plain command can carry atomically. */
export function isConditional(op: WriteOp): boolean {
  return op.kind === 'patch' || op.kind === 'forward';
}

function sendOne(c: ClientLike, key: string, op: WriteOp, ttl: number, conditional: SendConditional | null): Promise<unknown> {
  if (op.kind === 'set') return c.set(key, asBuffer(op.bytes!), 'PX', ttl);
  if (op.kind === 'touch') return c.pexpire(key, ttl);
  if (op.kind === 'destroy') return c.del(key);
  if (conditional === null) return Promise.reject(new Error(`a ${op.kind} needs a script or a transaction`));
  return conditional(key, op, ttl);
}

/**
 * Runs `send`, whose commands then leave in one socket write per node: the
 * wire effect of a pipeline. ioredis writes each command to its socket as it
 * is issued; corking the socket(s) around a batch coalesces them, at about
 * half the CPU of an ioredis Pipeline object (no per-command result
 * bookkeeping), and each command keeps its own reply, so one refused
 * command fails only its own operation.
 */
function corked<T>(c: ClientLike, cluster: boolean, send: () => T): T {
  const streams: CorkableStream[] = [];
  if (!cluster) {
    if (isCorkable(c.stream)) streams.push(c.stream);
  } else if (typeof c.nodes === 'function') {
    for (const node of c.nodes('master')) if (isCorkable(node.stream)) streams.push(node.stream);
  }
  for (const s of streams) s.cork();
  try {
    return send();
  } finally {
    for (const s of streams) s.uncork();
  }
}

function isCorkable(s: unknown): s is CorkableStream {
  return typeof (s as CorkableStream | undefined)?.cork === 'function' && typeof (s as CorkableStream).uncork === 'function';
}

/** Waits for every promise; one entry per promise: its value, or its Error. */
function settleAll<T>(promises: ReadonlyArray<Promise<T>>): Promise<Array<T | Error>> {
  const n = promises.length;
  const out = new Array<T | Error>(n);
  return new Promise((resolve) => {
    let left = n;
    for (let i = 0; i < n; i++) {
      promises[i]!.then(
        (v) => {
          out[i] = v;
          if (--left === 0) resolve(out);
        },
        (err: unknown) => {
          out[i] = err instanceof Error ? err : new Error(String(err));
          if (--left === 0) resolve(out);
        },
      );
    }
  });
}

/**
 * Sends one write batch as single-key commands, corked so they share one
 * socket write per node; patches and forwards go through `conditional`
 * (one script call per key, on a cluster) in the same socket writes. On a
 * cluster, ioredis routes each command to the node serving its slot: no
 * command spans two slots, so no CROSSSLOT error can occur. Resolves with
 * one entry per op: a patch's or forward's result, an Error for each op
 * Redis refused (nothing for a single plain op that succeeded).
 */
export function writeBatch(
  c: ClientLike, cluster: boolean, keys: readonly string[], ops: readonly WriteOp[], ttls: readonly number[],
  conditional: SendConditional | null,
): Promise<ReadonlyArray<unknown> | void> {
  if (ops.length === 1) {
    const op = ops[0]!;
    const sent = sendOne(c, keys[0]!, op, ttls[0]!, conditional);
    return isConditional(op) ? sent.then((r) => [r]) : sent.then(noop);
  }
  return settleAll(corked(c, cluster, () => {
    const sent = new Array<Promise<unknown>>(ops.length);
    for (let i = 0; i < ops.length; i++) sent[i] = sendOne(c, keys[i]!, ops[i]!, ttls[i]!, conditional);
    return sent;
  }));
}

function noop(): void {}

/**
 * Fetches one read batch: one GET, or one MGET on a standalone server; on a
 * cluster one MGET per slot (a GET for a slot holding one key), corked per node.
 */
export function readBatch(c: ClientLike, cluster: boolean, keys: readonly string[]): Promise<Array<Buffer | null | Error>> {
  if (keys.length === 1) return c.getBuffer(keys[0]!).then((v) => [v]);
  if (!cluster) return c.mgetBuffer(keys as string[]);
  const groups = groupBySlot(keys);
  const out = new Array<Buffer | null | Error>(keys.length);
  const sent = corked(c, cluster, () => groups.map((g) => (g.length === 1 ? c.getBuffer(keys[g[0]!]!).then((v) => [v]) : c.mgetBuffer(g.map((i) => keys[i]!)))));
  return settleAll(sent).then((replies) => {
    for (let j = 0; j < groups.length; j++) {
      const g = groups[j]!;
      const r = replies[j]!;
      for (let k = 0; k < g.length; k++) out[g[k]!] = r instanceof Error ? r : (r[k] ?? null);
    }
    return out;
  });
}

/** Key indexes grouped by cluster slot (multi-key commands must stay in one slot). */
export function groupBySlot(keys: readonly string[]): number[][] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < keys.length; i++) {
    const slot = keySlot(keys[i]!);
    const list = groups.get(slot);
    if (list === undefined) groups.set(slot, [i]);
    else list.push(i);
  }
  return [...groups.values()];
}
