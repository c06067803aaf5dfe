/*
 * Where scans (record.ts's and the addon's) put the index of a v2 buffer. A
 * Uint32Array of more than 64 bytes lives outside the V8 heap and costs some
 * hundreds of ns to create (GC included), a view of an existing one about
 * 25 ns (bench/record-codec.mjs, "index for 26 keys"), so every scan, native
 * or JS, takes its index from one shared slab the way Buffer.allocUnsafe
 * takes bytes from its pool. A slab lives as long as any view of it.
 */
const SLAB_U32 = 8192;
const EMPTY_INDEX = new Uint32Array(0);

/**
 * Where the next index goes: `slab[at, at + n)` after `reserveIndex(n)`.
 * `bytes` views the same memory for the addon, which reads a Uint8Array's
 * address faster than a Uint32Array's.
 */
export const indexPool = { slab: new Uint32Array(SLAB_U32), bytes: new Uint8Array(0), at: 0 };
indexPool.bytes = new Uint8Array(indexPool.slab.buffer);

/** Makes room for `n` u32 at `indexPool.at` (a fresh slab, or an array of its own for a large index). */
export function reserveIndex(n: number): void {
  const p = indexPool;
  if (p.at + n <= p.slab.length) return;
  p.slab = new Uint32Array(n > SLAB_U32 >>> 1 ? n : SLAB_U32);
  p.bytes = new Uint8Array(p.slab.buffer);
  p.at = 0;
}

/** The view of the `n` u32 just written at `indexPool.at`; the pool moves past them. */
export function takeIndex(n: number): Uint32Array {
  if (n === 0) return EMPTY_INDEX;
  const p = indexPool;
  const view = new Uint32Array(p.slab.buffer, p.at * 4, n);
  p.at += n;
  return view;
}
