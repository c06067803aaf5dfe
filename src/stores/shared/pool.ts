import { HotsessionError, codes } from '../../errors';
import { CLOSED, FREE, H, RESERVED, S, UNIT, segEntry, type Geometry } from './layout';
import { position } from './position';
import { C_RECLAIMS } from './stats';

/*
 * Which segment a log gets next (log.ts hands it over): a free one, or the
 * eviction policy's victim, reclaimed. See log.ts for the protocol as a whole.
 *
 * - reclaim: stamp the victim (other threads pick another one; a stamp older
 *   than STUCK_SECONDS belongs to a dead thread and is taken over), close its
 *   fill word (claims fail from then on), wait until no writer is in flight
 *   (each publishes its slot before counting out), walk it, take it (owner
 *   CAS to a reservation token). Walking twice is harmless: a slot moves by
 *   CAS from the exact position it held.
 * - reservations carry a token of their own (owner = token); one older than
 *   STUCK_SECONDS is taken over under a new token, so the thread that made
 *   it, if it was only paused, can no longer use it.
 * - free segments: FREE_RESERVE of them are kept for reclaims' survivors (a
 *   reclaim never starts another one); a reclaim that finds the reserve low
 *   reclaims one more victim into it.
 */

/** Decides one block met by a reclaim walk: (log, position, byte offset, units, now). */
export type Visit = (log: number, ptr: number, at: number, units: number, now: number) => void;

/** A stamp, a reservation or a writer count this old belongs to a thread that died. */
const STUCK_SECONDS = 30;
/** Free segments kept back for reclaims' survivors (see Logs.claim's ADVANCE_FREE). */
const FREE_RESERVE = 2;
/** obtain()'s 1 ms naps while every victim has a writer in flight, before it gives up. */
const BUSY_WAITS = 50;
/** #obtainOnce(): every candidate had a writer in flight. */
const BUSY = -2;

export class Pool {
  readonly #i32: Int32Array;
  readonly #g: Geometry;
  readonly #created: number;
  readonly #segBytes: number;
  readonly #cur: readonly [number, number] = [H.curSmall, H.curMain];
  readonly #visit: Visit;
  readonly #c: Float64Array;
  #token = RESERVED;
  /** A word nobody writes: Atomics.wait on it is a sleep (allowed on Node's main thread too). */
  readonly #nap = new Int32Array(new SharedArrayBuffer(4));

  constructor(i32: Int32Array, g: Geometry, created: number, counters: Float64Array, visit: Visit) {
    this.#i32 = i32;
    this.#g = g;
    this.#created = created;
    this.#segBytes = g.segUnits * UNIT;
    this.#c = counters;
    this.#visit = visit;
  }

  /** The owner value of the segment the last obtain() returned. */
  get token(): number {
    return this.#token;
  }

  #now(): number {
    return Math.max(1, Math.floor((Date.now() - this.#created) / 1000));
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
  obtain(reclaim: boolean): number {
    for (let round = 0; round <= BUSY_WAITS; round++) {
      // Every victim had a writer in flight: a writer whose thread the OS
      // descheduled between its claim and its count-out holds its segment for
      // a scheduler quantum, not microseconds (4 threads on 2 cores did, in
      // shared-memory-threads' eviction test). Sleep a millisecond and look again.
      if (round > 0) Atomics.wait(this.#nap, 0, 0, 1);
      const p = this.#obtainOnce(reclaim);
      if (p !== BUSY) return p;
    }
    throw new HotsessionError(codes.STORE, 'SharedMemoryStore: no segment could be reclaimed (every one has a writer in flight)');
  }

  /** One attempt of obtain(): a segment, -1 (none free and `reclaim` false), or BUSY. */
  #obtainOnce(reclaim: boolean): number {
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
    return BUSY;
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
    const curAge = [this.ageOf(Atomics.load(i32, this.#cur[0]!)), this.ageOf(Atomics.load(i32, this.#cur[1]!))];
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

  ageOf(p: number): number {
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
    if (cur === p || Atomics.load(i32, e + S.age) >= this.ageOf(cur)) return false;
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
    const ptr0 = position(p, epoch, 0);
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
}
