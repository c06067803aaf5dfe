import { KEEP_EVICT, KEEP_EXPIRE, KEEP_PROMOTE, KEEP_REINSERT, keptFreq, onReclaim } from './eviction';
import type { Buckets, Views } from './buckets';
import { BLOCK_HEADER, LOG_MAIN, SLOTS_PER_BUCKET, UNIT, type Geometry } from './layout';
import { ADVANCE_FREE, type Logs } from './log';
import { FREQ_MAX, freqOf, makeHi, tagOf, type Slots } from './slots';
import { isIndexKey } from './users-key';
import { C_EVICTED, C_EXPIRED, C_PROMOTED } from './stats';

/** Retries for one block (each lost CAS means another thread changed its slot). */
const MAX_TRIES = 10_000;

/**
 * What a reclaim walk (pool.ts) does with each block it meets: nothing when
 * no slot points at it any more; otherwise the policy (eviction.ts) says
 * evict, or copy into the main log and move the slot there by CAS.
 */
export class Reclaimer {
  readonly #v: Views;
  readonly #slots: Slots;
  readonly #c: Float64Array;
  readonly #bucketCount: number;
  #logs: Logs | null = null;
  #b: Buckets | null = null;

  constructor(v: Views, slots: Slots, counters: Float64Array, g: Geometry) {
    this.#v = v;
    this.#slots = slots;
    this.#c = counters;
    this.#bucketCount = g.bucketCount;
  }

  /** Logs and Buckets need the visit to exist first; they arrive here right after. */
  attach(logs: Logs, buckets: Buckets): void {
    this.#logs = logs;
    this.#b = buckets;
  }

  /**
   * A reclaim walk met the block at `at` (position `ptr` of `log`, `units`
   * long): if a slot still points at it, the policy decides whether it goes
   * or is copied into the main log.
   */
  readonly visit = (log: number, ptr: number, at: number, units: number, now: number): void => {
    const b = this.#b!;
    const s = this.#slots;
    const logs = this.#logs!;
    const bucket = this.#v.i32[(at >>> 2) + 1]!;
    if (!(bucket >= 0 && bucket < this.#bucketCount)) return;
    const base = bucket * SLOTS_PER_BUCKET;
    // Each lost CAS means another thread changed the slot (a read's frequency
    // bump saturates at 3; a write moves it away): this ends.
    for (let round = 0; round < MAX_TRIES; round++) {
      const i = b.byPtr(base, ptr);
      if (i < 0) return;
      const hi = b.hi;
      const lo = b.lo;
      const freq = freqOf(hi);
      const duplicate = b.twinBelow(base, i, at);
      const expired = this.#v.f64[(at >>> 3) + 2]! <= now;
      // A user's index (shared/users.ts) is what revocation reaches sessions
      // through: it must live as long as it says, however rarely it is read.
      // It is kept like a session read again, unless no room is left at all.
      const index = isIndexKey(this.#v.u8[at + BLOCK_HEADER]!);
      const action = duplicate ? KEEP_EVICT : index ? (expired ? KEEP_EXPIRE : KEEP_REINSERT) : onReclaim(log, freq, expired);
      // Room in the main log, from the free reserve when its segment is full
      // (never by another reclaim); with none left at all, the block goes.
      const nat = action === KEEP_EVICT || action === KEEP_EXPIRE ? -1 : logs.claim(LOG_MAIN, units, ADVANCE_FREE);
      if (nat < 0) {
        if (!s.cas(i, hi, lo, 0, 0)) continue;
        this.#c[action === KEEP_EXPIRE ? C_EXPIRED : C_EVICTED]!++;
        if (!duplicate) b.dropTwins(base, at);
        return;
      }
      const nseg = logs.seg;
      const nptr = logs.ptr;
      this.#v.u8.copyWithin(nat + 4, at + 4, at + units * UNIT);
      const ok = s.cas(i, hi, lo, makeHi(tagOf(hi), index ? FREQ_MAX : keptFreq(action, freq), LOG_MAIN, nptr), nptr | 0);
      logs.done(nseg);
      if (ok) {
        if (action === KEEP_PROMOTE) this.#c[C_PROMOTED]!++;
        return;
      }
      // A read raised its frequency or a write replaced it meanwhile: look again.
    }
  };
}
