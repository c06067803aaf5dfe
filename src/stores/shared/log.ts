import { HotsessionError, codes } from '../../errors';
import { CLOSED, FREE, H, RESERVED, S, UNIT, segEntry, type Geometry } from './layout';
import { C_RECLAIMS } from './stats';

/*
 * Where blocks live: a pool of P segments shared by the two logs of the
 * eviction policy (eviction.ts). Each log fills its current segment; when it
 * is full, the log takes a free segment, or, when none is left, the policy's
 * victim: the small log's oldest segment while the small log holds at least
 * a tenth of the pool, else the main log's oldest. The victim is walked
 * first: each block a slot still points at is evicted or copied into the
 * main log (Visit), then the segment is handed over with a new epoch.
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
 * - reclaim: stamp the victim (other threads pick another one; a stamp older
 *   than STUCK_SECONDS belongs to a dead thread and is taken over), close its
 *   fill word (claims fail from then on), wait until no writer is in flight
 *   (each publishes its slot before counting out), walk it, take it (owner
 *   CAS). Walking twice is harmless: a slot moves by CAS from the exact
 *   position it held.
 * - hand-over: a segment is reserved under a token of its own (owner CAS), then
 *   given to the log (owner CAS from that token), a new epoch and an open fill
 *   word, and the log's current-segment word moves to it by CAS. A reservation
 *   older than STUCK_SECONDS is taken over under a new token, so the thread
 *   that made it, if it was only paused, can no longer use it.
 * The only case this does not cover is a live thread paused for longer than
 * STUCK_SECONDS inside its claim-to-publish window (about a microsecond of code).
 */

/** Decides one block met by a reclaim walk: (log, position, byte offset, units, now). */
export type Visit = (log: number, ptr: number, at: number, units: number, now: number) => void;

/** A stamp, a reservation or a writer count this old belongs to a thread that died. */
const STUCK_SECONDS = 30;
/** Free segments kept back for reclaims' survivors (see claim's ADVANCE_FREE). */
const FREE_RESERVE = 2;
export const NO_ADVANCE = 0;
export const ADVANCE_FREE = 1;
export const ADVANCE = 2;
const MAX_TRIES = 100_000;
const SEG_SHIFT = 2 ** 34;
const EPOCH_SHIFT = 2 ** 22;

export function segOf(ptr: number): number {
  return Math.floor(ptr / SEG_SHIFT);
}

function epochOf(ptr: number): number {
  return Math.floor(ptr / EPOCH_SHIFT) & 0xfff;
}

function unitOf(ptr: number): number {
  return ptr % EPOCH_SHIFT;
}

export class Logs {
  readonly #i32: Int32Array;
  readonly #g: Geometry;
  readonly #created: number;
  readonly #segBytes: number;
  readonly #cur: readonly [number, number];
  readonly #visit: Visit;
  readonly #c: Float64Array;
  /** The owner value of this thread's latest reservation. */
  #token = RESERVED;
  /** Segment and position of the last successful claim. */
  seg = 0;
  ptr = 0;

  constructor(i32: Int32Array, g: Geometry, created: number, counters: Float64Array, visit: Visit) {
    this.#i32 = i32;
    this.#g = g;
    this.#created = created;
    this.#segBytes = g.segUnits * UNIT;
    this.#cur = [H.curSmall, H.curMain];
    this.#c = counters;
    this.#visit = visit;
  }

  /** Byte offset of the block at position `ptr`. */
  at(ptr: number): number {
    return this.#g.segmentsAt + segOf(ptr) * this.#segBytes + unitOf(ptr) * UNIT;
  }

  /** True while the block at `ptr` is intact (its segment was not handed over since). */
  valid(ptr: number): boolean {
    const p = segOf(ptr);
    return p < this.#g.segments && (Atomics.load(this.#i32, segEntry(this.#g, p) + S.epoch) & 0xfff) === epochOf(ptr);
  }

  /** Orders positions by age (for the bucket victim's tie-break): older is smaller. */
  age(ptr: number): number {
    return Atomics.load(this.#i32, segEntry(this.#g, segOf(ptr)) + S.age) * EPOCH_SHIFT + unitOf(ptr);
  }

  #now(): number {
    return Math.max(1, Math.floor((Date.now() - this.#created) / 1000));
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
          this.ptr = p * SEG_SHIFT + (epoch & 0xfff) * EPOCH_SHIFT + from;
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
    const q = this.#obtain(reclaim);
    if (q < 0) return false;
    const e = segEntry(this.#g, q);
    // The age first: a scan that sees the new owner must see a segment newer
    // than the log's current one, which is never a victim.
    Atomics.store(i32, e + S.age, Atomics.add(i32, H.ages, 1) + 1);
    // Ours until here; a thread paused past STUCK_SECONDS finds its token gone and stops.
    if (Atomics.compareExchange(i32, e + S.owner, this.#token, log) !== this.#token) return true;
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

  /** A fresh reservation token (owner values >= RESERVED are reservations). */
  #reserve(): number {
    this.#token = RESERVED + (Atomics.add(this.#i32, H.tokens, 1) & 0x3fffffff);
    return this.#token;
  }

  /**
   * A segment reserved for this thread (owner = this.#token, nothing
   * published in it): a free one while more than FREE_RESERVE are left, else
   * the policy's victim, reclaimed; with `reclaim` false, a free one or -1.
   * The reserve is for reclaims' survivors; a reclaim that finds it low
   * reclaims one more victim into the pool.
   */
  #obtain(reclaim: boolean): number {
    const failed: number[] = [];
    for (let tries = 0; tries < 64; tries++) {
      const now = this.#now();
      const scan = this.#scan(now, failed);
      if (scan.free > (reclaim ? FREE_RESERVE : 0)) {
        const p = this.#takeFree(now);
        if (p >= 0) return p;
        continue;
      }
      if (!reclaim) return -1;
      if (scan.pick < 0) break;
      if (!this.#reclaim(scan.pick, now)) {
        failed.push(scan.pick);
        continue;
      }
      const mine = scan.pick;
      const token = this.#token;
      if (scan.free < FREE_RESERVE) {
        // Top the reserve up: the next victim goes back to the pool.
        const more = this.#scan(now, [...failed, mine]);
        if (more.pick >= 0 && this.#reclaim(more.pick, now)) {
          const e = segEntry(this.#g, more.pick);
          Atomics.store(this.#i32, e + S.stamp, 0);
          Atomics.compareExchange(this.#i32, e + S.owner, this.#token, FREE);
        }
        this.#token = token;
      }
      return mine;
    }
    throw new HotsessionError(codes.STORE, 'SharedMemoryStore: no segment could be reclaimed (every one has a writer in flight)');
  }

  /** Reserves a free segment (or a reservation whose thread died); -1 if another thread took the last one. */
  #takeFree(now: number): number {
    const i32 = this.#i32;
    for (let p = 0; p < this.#g.segments; p++) {
      const e = segEntry(this.#g, p);
      const owner = Atomics.load(i32, e + S.owner);
      if (owner !== FREE && owner < RESERVED) continue;
      const stamp = Atomics.load(i32, e + S.stamp);
      if (owner >= RESERVED && now - stamp < STUCK_SECONDS) continue;
      if (Atomics.load(i32, e + S.inflight) > 0 && !this.#stuckOut(e, now)) continue;
      // The stamp before the owner: a reservation is never seen with an old stamp.
      if (Atomics.compareExchange(i32, e + S.stamp, stamp, now) !== stamp) continue;
      if (Atomics.compareExchange(i32, e + S.owner, owner, this.#reserve()) === owner) {
        Atomics.store(i32, e + S.fill, CLOSED);
        return p;
      }
    }
    return -1;
  }

  /**
   * One pass over the segment table: how many are free, and the policy's
   * victim (S3-FIFO: the small log gives back while it holds a tenth of the
   * pool, the main log otherwise; within a log the oldest segment), or -1.
   */
  #scan(now: number, failed: readonly number[]): { free: number; pick: number } {
    const i32 = this.#i32;
    const n = this.#g.segments;
    const victim = [-1, -1];
    const oldest = [Infinity, Infinity];
    const count = [0, 0];
    let free = 0;
    // Only segments older than their log's current one are victims (a newer
    // one is being handed over right now).
    const curAge = [this.#ageOf(Atomics.load(i32, this.#cur[0]!)), this.#ageOf(Atomics.load(i32, this.#cur[1]!))];
    for (let p = 0; p < n; p++) {
      const e = segEntry(this.#g, p);
      const owner = Atomics.load(i32, e + S.owner);
      if (owner === FREE || owner >= RESERVED) {
        if (owner === FREE || now - Atomics.load(i32, e + S.stamp) >= STUCK_SECONDS) free++;
        continue;
      }
      count[owner]!++;
      const age = Atomics.load(i32, e + S.age);
      if (age >= curAge[owner]! || failed.includes(p)) continue;
      const stamp = Atomics.load(i32, e + S.stamp);
      if (stamp !== 0 && now - stamp < STUCK_SECONDS) continue; // another thread is reclaiming it
      if (age < oldest[owner]!) {
        oldest[owner] = age;
        victim[owner] = p;
      }
    }
    const pick = count[0]! * 10 >= n && victim[0]! >= 0 ? victim[0]! : victim[1]! >= 0 ? victim[1]! : victim[0]!;
    return { free, pick };
  }

  #ageOf(p: number): number {
    return Atomics.load(this.#i32, segEntry(this.#g, p) + S.age);
  }

  /** True once segment entry `e`'s writer count has been stuck for STUCK_SECONDS (the first call starts the clock). */
  #stuckOut(e: number, now: number): boolean {
    const since = Atomics.load(this.#i32, e + S.stuck);
    if (since === 0) {
      Atomics.compareExchange(this.#i32, e + S.stuck, 0, now);
      return false;
    }
    if (now - since < STUCK_SECONDS) return false;
    Atomics.store(this.#i32, e + S.inflight, 0);
    Atomics.store(this.#i32, e + S.stuck, 0);
    return true;
  }

  /** Evicts or moves every live block of segment `p`, then reserves it for this thread. False if it could not. */
  #reclaim(p: number, now: number): boolean {
    const i32 = this.#i32;
    const e = segEntry(this.#g, p);
    const owner = Atomics.load(i32, e + S.owner);
    if (owner !== 0 && owner !== 1) return false;
    // Picked by a scan a moment ago: it may have been reclaimed and handed
    // back to its log since, as the current segment.
    const cur = Atomics.load(i32, this.#cur[owner]!);
    if (cur === p || Atomics.load(i32, e + S.age) >= this.#ageOf(cur)) return false;
    const stamp = Atomics.load(i32, e + S.stamp);
    if (stamp !== 0 && now - stamp < STUCK_SECONDS) return false;
    if (Atomics.compareExchange(i32, e + S.stamp, stamp, now) !== stamp) return false;
    // Close the fill word: no claim lands in p from here on.
    for (;;) {
      const f = Atomics.load(i32, e + S.fill);
      if (f === CLOSED) break;
      if (Atomics.compareExchange(i32, e + S.fill, f, CLOSED) === f) {
        Atomics.store(i32, e + S.sealed, f);
        break;
      }
    }
    // Writers that claimed before the close publish their slot before they
    // count out: only once none is left does the walk see every block.
    if (!this.#drained(e, now)) {
      Atomics.store(i32, e + S.stamp, 0);
      return false;
    }
    const sealed = Atomics.load(i32, e + S.sealed);
    this.#c[C_RECLAIMS]!++;
    this.#walk(p, owner, sealed < 0 ? this.#g.segUnits : sealed, Date.now());
    if (Atomics.compareExchange(i32, e + S.owner, owner, this.#reserve()) !== owner) return false;
    Atomics.store(i32, e + S.stamp, now);
    return true;
  }

  /**
   * Waits (briefly) for segment entry `e`'s writers to count out. False while
   * one is still in: one that just claimed finishes within microseconds; one
   * stuck for STUCK_SECONDS died there and is forgotten.
   */
  #drained(e: number, now: number): boolean {
    for (let spin = 0; spin < 1000; spin++) if (Atomics.load(this.#i32, e + S.inflight) <= 0) return true;
    return this.#stuckOut(e, now);
  }

  /** Visits the blocks of segment `p` (of `log`) up to unit `end`. */
  #walk(p: number, log: number, end: number, now: number): void {
    const i32 = this.#i32;
    const epoch = Atomics.load(i32, segEntry(this.#g, p) + S.epoch);
    const tag = epoch & 0xff;
    const base = this.#g.segmentsAt + p * this.#segBytes;
    const ptr0 = p * SEG_SHIFT + (epoch & 0xfff) * EPOCH_SHIFT;
    for (let u = 0; u < end;) {
      const at = base + u * UNIT;
      const w = Atomics.load(i32, at >>> 2);
      const units = w & 0xffffff;
      if (w >>> 24 === tag && units > 0 && u + units <= end) {
        this.#visit(log, ptr0 + u, at, units, now);
        u += units;
      } else {
        u++; // a hole: a writer stopped between its claim and its length word
      }
    }
  }

  /** Bytes of segment space holding blocks. */
  usedBytes(): number {
    const i32 = this.#i32;
    let units = 0;
    for (let p = 0; p < this.#g.segments; p++) {
      const e = segEntry(this.#g, p);
      const owner = Atomics.load(i32, e + S.owner);
      if (owner !== 0 && owner !== 1) continue;
      const f = Atomics.load(i32, e + S.fill);
      const sealed = Atomics.load(i32, e + S.sealed);
      units += f !== CLOSED ? f : sealed >= 0 ? sealed : this.#g.segUnits;
    }
    return units * UNIT;
  }

  /** Segments held by each log: [small, main]. */
  segmentsHeld(): [number, number] {
    const out: [number, number] = [0, 0];
    for (let p = 0; p < this.#g.segments; p++) {
      const owner = Atomics.load(this.#i32, segEntry(this.#g, p) + S.owner);
      if (owner === 0 || owner === 1) out[owner]++;
    }
    return out;
  }
}
