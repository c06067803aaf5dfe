import { HotsessionError, codes } from '../../errors';
import { CLOSED, H, S, UNIT, segEntry, type Geometry } from './layout';
import { Pool, type Visit } from './pool';
import { ageKey, epochOf, position, segOf, unitOf } from './position';

/*
 * Where blocks live: a pool of P segments shared by the two logs of the
 * eviction policy (eviction.ts). Each log fills its current segment; when it
 * is full, the log takes a free segment, or, when none is left, the policy's
 * victim: the small log's oldest segment while the small log holds at least
 * a tenth of the pool, else the main log's oldest. The victim is walked
 * first: each block a slot still points at is evicted or copied into the
 * main log (Visit), then the segment is handed over with a new epoch.
 * A reclaim never starts another one: the copies it makes go to the main
 * log's current segment and, when that fills, to a free segment kept in
 * reserve (a nested reclaim would be making room for the main log while the
 * main log is full: its own survivors would have nowhere to go).
 *
 * A block's position: segment * 2^34 + (epoch & 0xfff) * 2^22 + unit. A
 * reader validates the segment's epoch after copying a record out, so it
 * never returns bytes from a segment that was handed over meanwhile.
 *
 * Every step is one atomic operation, so a thread stopped anywhere (a worker
 * terminated mid-call) leaves nothing locked and nothing half-done the next
 * thread cannot finish or ignore:
 * - claim: count in as a writer of the segment (inflight), check it is still
 *   the log's current one, bump its fill word by CAS, store the block's length
 *   word (tagged with the epoch); after publishing, count out. A thread stopped
 *   between the bump and the length word leaves a hole a walk steps over.
 * - reclaim (pool.ts): stamp, close, wait for writers, walk, take.
 * - hand-over: a segment reserved under a token of its own (pool.ts) is given
 *   to the log (owner CAS from that token), a new epoch and an open fill
 *   word, and the log's current-segment word moves to it by CAS.
 * The only case this does not cover is a live thread paused for longer than
 * 30 s (pool.ts STUCK_SECONDS) inside its claim-to-publish window (about a
 * microsecond of code).
 */

export type { Visit };
export { segOf };

/*
 * A read copies a block with plain loads, then validates its segment's epoch
 * with Atomics.load. x86 never lets a load pass an earlier one, so the copy
 * is complete before the epoch is read. Weaker CPUs (arm64) may satisfy the
 * copy's loads after the validating load (an acquire orders only what comes
 * after it), so there an atomic read-modify-write, whose release half orders
 * every earlier load before the validating one, goes first: the seqlock
 * reader's fence. Not exercised on this project's x86 CI.
 */
const WEAK_ORDER = !['x64', 'ia32'].includes(process.arch);
const FENCE = new Int32Array(new SharedArrayBuffer(4));

export const NO_ADVANCE = 0;
export const ADVANCE_FREE = 1;
export const ADVANCE = 2;
const MAX_TRIES = 100_000;

export class Logs {
  readonly #i32: Int32Array;
  readonly #g: Geometry;
  readonly #segBytes: number;
  readonly #cur: readonly [number, number];
  readonly #pool: Pool;
  /** Segment and position of the last successful claim. */
  seg = 0;
  ptr = 0;

  constructor(i32: Int32Array, g: Geometry, created: number, counters: Float64Array, visit: Visit) {
    this.#i32 = i32;
    this.#g = g;
    this.#segBytes = g.segUnits * UNIT;
    this.#cur = [H.curSmall, H.curMain];
    this.#pool = new Pool(i32, g, created, counters, visit);
  }

  /** Byte offset of the block at position `ptr`. */
  at(ptr: number): number {
    return this.#g.segmentsAt + segOf(ptr) * this.#segBytes + unitOf(ptr) * UNIT;
  }

  /** True while the block at `ptr` is intact (its segment was not handed over since). */
  valid(ptr: number): boolean {
    if (WEAK_ORDER) Atomics.add(FENCE, 0, 0);
    const p = segOf(ptr);
    return p < this.#g.segments && (Atomics.load(this.#i32, segEntry(this.#g, p) + S.epoch) & 0xfff) === epochOf(ptr);
  }

  /** Orders positions by age (for the bucket victim's tie-break): older is smaller. */
  age(ptr: number): number {
    return ageKey(Atomics.load(this.#i32, segEntry(this.#g, segOf(ptr)) + S.age), ptr);
  }

  /**
   * Claims `units` units in `log`'s current segment and returns their byte
   * offset (seg/ptr say where). The caller writes the block, publishes it,
   * then calls done(seg). When the segment is full, ADVANCE moves the log to a
   * new segment (reclaiming one if need be); ADVANCE_FREE only onto a free
   * one (a reclaim's survivors: a reclaim never starts another, whose own
   * survivors would find the main log just as full); NO_ADVANCE gives up.
   * -1 when there is no room that way.
   */
  claim(log: number, units: number, advance: number): number {
    const i32 = this.#i32;
    const su = this.#g.segUnits;
    if (!(units > 0 && units <= su)) throw new RangeError(`SharedMemoryStore: a block of ${units} units cannot fit a segment`);
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const p = Atomics.load(i32, this.#cur[log]!);
      const e = segEntry(this.#g, p);
      Atomics.add(i32, e + S.inflight, 1);
      if (Atomics.load(i32, e + S.owner) !== log || Atomics.load(i32, this.#cur[log]!) !== p) {
        this.done(p);
        if (Atomics.load(i32, this.#cur[log]!) !== p) continue;
        // The log's current segment is no longer the log's (reclaimed in the
        // instant it was handed over): move the log on, or report no room.
        if (advance === NO_ADVANCE || !this.#advance(log, p, advance === ADVANCE)) return -1;
        continue;
      }
      const epoch = Atomics.load(i32, e + S.epoch);
      const from = Atomics.load(i32, e + S.fill);
      if (from <= su - units) {
        if (Atomics.compareExchange(i32, e + S.fill, from, from + units) === from) {
          const at = this.#g.segmentsAt + p * this.#segBytes + from * UNIT;
          Atomics.store(i32, at >>> 2, ((epoch & 0xff) << 24) | units);
          this.seg = p;
          this.ptr = position(p, epoch, from);
          return at;
        }
        this.done(p);
        continue;
      }
      this.done(p);
      if (advance === NO_ADVANCE || !this.#advance(log, p, advance === ADVANCE)) return -1;
    }
    throw new HotsessionError(codes.STORE, 'SharedMemoryStore: no segment could be claimed');
  }

  /**
   * Counts this thread in as a writer of the block at `ptr` for an in-place
   * change (touch's new expiry): true when the block is intact and its
   * segment not yet closed for reclaim, and then done(segOf(ptr)) must follow.
   * Count in, then check; a reclaim closes, then waits for the count: one of
   * the two always sees the other (all Atomics are sequentially consistent).
   */
  enter(ptr: number): boolean {
    const p = segOf(ptr);
    if (p >= this.#g.segments) return false;
    const e = segEntry(this.#g, p);
    Atomics.add(this.#i32, e + S.inflight, 1);
    if (Atomics.load(this.#i32, e + S.fill) !== CLOSED && this.valid(ptr)) return true;
    this.done(p);
    return false;
  }

  /** Counts a writer out of segment `p`. */
  done(p: number): void {
    const e = segEntry(this.#g, p) + S.inflight;
    // Never below zero: a count reset as stuck may be decremented late.
    for (;;) {
      const n = Atomics.load(this.#i32, e);
      if (n <= 0 || Atomics.compareExchange(this.#i32, e, n, n - 1) === n) return;
    }
  }

  /** `log`'s current segment `p` is full: give the log a new one. */
  #advance(log: number, p: number, reclaim: boolean): boolean {
    const i32 = this.#i32;
    if (Atomics.load(i32, this.#cur[log]!) !== p) return true;
    const q = this.#pool.obtain(reclaim);
    if (q < 0) return false;
    const e = segEntry(this.#g, q);
    // The age first: a scan that sees the new owner must see a segment newer
    // than the log's current one, which is never a victim.
    Atomics.store(i32, e + S.age, Atomics.add(i32, H.ages, 1) + 1);
    // Ours until here; a thread paused past STUCK_SECONDS finds its token gone and stops.
    const token = this.#pool.token;
    if (Atomics.compareExchange(i32, e + S.owner, token, log) !== token) return true;
    Atomics.add(i32, e + S.epoch, 1);
    Atomics.store(i32, e + S.sealed, -1);
    Atomics.store(i32, e + S.fill, 0);
    Atomics.store(i32, e + S.stamp, 0);
    // Losing this race (another thread moved the log on first) leaves q an
    // empty segment of the log, reclaimed like any other. Handing it back to
    // the pool here would be an ABA: by then another thread may have
    // reclaimed it and made it this log's current segment again.
    Atomics.compareExchange(i32, this.#cur[log]!, p, q);
    return true;
  }

  /** Bytes of segment space holding blocks. */
  usedBytes(): number {
    return this.#pool.usedBytes();
  }
}
