import { BLOCK_HEADER, MAX_KEY_BYTES, SLOTS_PER_BUCKET, SPAN } from './layout';
import type { Logs } from './log';
import { freqOf, logOf, ptrOf, tagOf, tagOfHash, type Slots } from './slots';

/*
 * Finding a session in its span (its bucket and the next: 16 slots on two
 * adjacent cache lines, layout.ts) and the rules
 * that keep one live entry per id without a lock:
 * - the lowest slot holding an id is the id's entry; readers and writers use it;
 * - two sets racing on an absent id may each fill a slot: the one that lands
 *   in the higher slot removes itself (its set is ordered before the other);
 * - removing an id (destroy, eviction, expiry) removes every slot holding it,
 *   so a duplicate left by a thread that died mid-set can never resurface.
 * A slot whose block lies in a recycled segment (its writer or the reclaim
 * that should have moved it stopped a lap ago) is emptied when met.
 */

/** Views of the whole table, one set per thread. */
export interface Views {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;
}

export class Buckets {
  readonly #v: Views;
  readonly #slots: Slots;
  readonly #logs: Logs;
  readonly #mask: number;
  readonly #seed: number;
  // The id being looked up (set by key()).
  h = 0;
  tag = 0;
  /** First slot of the id's span (its bucket). */
  base = 0;
  klen = 0;
  id = '';
  /** The id's UTF-8 bytes when it is not ASCII, else null (compared by char code). */
  kb: Buffer | null = null;
  // The entry the last find() returned.
  hi = 0;
  lo = 0;
  at = 0;
  ptr = 0;

  constructor(v: Views, slots: Slots, logs: Logs, bucketCount: number, seed: number) {
    this.#v = v;
    this.#slots = slots;
    this.#logs = logs;
    this.#mask = bucketCount - 1;
    this.#seed = seed;
  }

  /**
   * Hashes `id` for the lookups that follow. False when it cannot be a key
   * (not a string, empty, longer than MAX_KEY_BYTES in UTF-8).
   */
  key(id: unknown): boolean {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_KEY_BYTES) return false;
    // FNV-1a over the code units, seeded per table, finished with a
    // multiply-xorshift so the bucket (low bits) and the tag (high bits) are
    // independent. Ids reach a store only once their signature checked out,
    // so nobody can flood a bucket with chosen ids; the seed covers custom genids.
    let h = (0x811c9dc5 ^ this.#seed) | 0;
    let wide = 0;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      wide |= c;
      h = Math.imul(h ^ c, 16777619);
    }
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    if (wide < 0x80) {
      this.kb = null;
      this.klen = id.length;
    } else {
      const kb = Buffer.from(id, 'utf8');
      if (kb.length > MAX_KEY_BYTES) return false;
      this.kb = kb;
      this.klen = kb.length;
    }
    this.id = id;
    this.h = h;
    this.tag = tagOfHash(h);
    this.base = (h & this.#mask) * SLOTS_PER_BUCKET;
    return true;
  }

  /** True when the block at byte `at` holds the current key. */
  #keyIs(at: number): boolean {
    const { i32, u8 } = this.#v;
    const w = at >>> 2;
    const klen = this.klen;
    if (i32[w + 2] !== this.h || i32[w + 3] !== klen) return false;
    const k = at + BLOCK_HEADER;
    const kb = this.kb;
    if (kb === null) {
      const id = this.id;
      for (let i = 0; i < klen; i++) if (u8[k + i] !== id.charCodeAt(i)) return false;
    } else {
      for (let i = 0; i < klen; i++) if (u8[k + i] !== kb[i]) return false;
    }
    return true;
  }

  /** True when blocks `a` and `b` hold the same key. */
  #sameKey(a: number, b: number): boolean {
    const { i32, u8 } = this.#v;
    const wa = a >>> 2;
    const wb = b >>> 2;
    const klen = i32[wa + 3]!;
    if (i32[wa + 2] !== i32[wb + 2] || klen !== i32[wb + 3] || klen < 0 || klen > MAX_KEY_BYTES) return false;
    const ka = a + BLOCK_HEADER;
    const kb = b + BLOCK_HEADER;
    for (let i = 0; i < klen; i++) if (u8[ka + i] !== u8[kb + i]) return false;
    return true;
  }

  /** Empties slot `i` if it still holds (hi, lo) and its block's segment was recycled; true when stale. */
  #dropIfStale(i: number, hi: number, lo: number): boolean {
    if (this.#logs.valid(ptrOf(hi, lo))) return false;
    this.#slots.cas(i, hi, lo, 0, 0);
    return true;
  }

  /** The current key's entry (lowest slot holding it), or -1; hi/lo/at/ptr describe it. */
  find(): number {
    const s = this.#slots;
    const logs = this.#logs;
    const tag = this.tag;
    for (let round = 0; round < 4; round++) {
      let stale = false;
      for (let i = this.base, end = i + SPAN; i < end; i++) {
        if (!s.read(i)) continue;
        const hi = s.hi;
        const lo = s.lo;
        if (tagOf(hi) !== tag) continue;
        const ptr = ptrOf(hi, lo);
        const at = logs.at(ptr);
        if (this.#keyIs(at)) {
          this.hi = hi;
          this.lo = lo;
          this.at = at;
          this.ptr = ptr;
          return i;
        }
        if (this.#dropIfStale(i, hi, lo)) stale = true;
      }
      // A stale slot may have hidden nothing, or a moved entry: look once more.
      if (!stale) return -1;
    }
    return -1;
  }

  /** Every slot of the span holding the current key as [hi, lo, slot], each slot read in turn: lowest first, or highest first (`descending`). */
  holders(descending = false): Array<[number, number, number]> {
    const s = this.#slots;
    const out: Array<[number, number, number]> = [];
    for (let k = 0; k < SPAN; k++) {
      const i = descending ? this.base + SPAN - 1 - k : this.base + k;
      if (!s.read(i)) continue;
      const hi = s.hi;
      const lo = s.lo;
      if (tagOf(hi) === this.tag && this.#keyIs(this.#logs.at(ptrOf(hi, lo)))) out.push([hi, lo, i]);
    }
    return out;
  }

  /** True when a slot below `i` holds the current key (then `i` is a duplicate that loses). */
  shadowed(i: number): boolean {
    const s = this.#slots;
    for (let j = this.base; j < i; j++) {
      if (!s.read(j)) continue;
      const hi = s.hi;
      const lo = s.lo;
      if (tagOf(hi) === this.tag && this.#keyIs(this.#logs.at(ptrOf(hi, lo)))) return true;
    }
    return false;
  }

  /** Empties slot `i` for as long as it holds the current key (a set that lost a race withdraws). */
  withdraw(i: number): void {
    const s = this.#slots;
    for (let tries = 0; tries < 64; tries++) {
      if (!s.read(i)) return;
      const hi = s.hi;
      const lo = s.lo;
      if (tagOf(hi) !== this.tag || !this.#keyIs(this.#logs.at(ptrOf(hi, lo)))) return;
      if (s.cas(i, hi, lo, 0, 0)) return;
    }
  }

  /** True when the block at byte `at` holds the current key. */
  holdsKey(at: number): boolean {
    return this.#keyIs(at);
  }

  /** Empties every slot of the bucket holding the current key; returns how many. */
  removeAll(): number {
    let n = 0;
    for (let tries = 0; tries < 64; tries++) {
      const i = this.find();
      if (i < 0) return n;
      if (this.#slots.cas(i, this.hi, this.lo, 0, 0)) n++;
    }
    return n;
  }

  /** The first empty slot of the current key's bucket, or -1. */
  empty(): number {
    const s = this.#slots;
    for (let i = this.base, end = i + SPAN; i < end; i++) if (!s.read(i)) return i;
    return -1;
  }

  /** The slot of bucket `base` pointing at `ptr`, or -1; hi/lo say what it holds. */
  byPtr(base: number, ptr: number): number {
    const s = this.#slots;
    const lo = ptr | 0;
    for (let i = base, end = base + SPAN; i < end; i++) {
      if (s.read(i) && s.lo === lo && ptrOf(s.hi, s.lo) === ptr) {
        this.hi = s.hi;
        this.lo = s.lo;
        return i;
      }
    }
    return -1;
  }

  /** True when a slot of bucket `base` below `i` holds the key of block `at`. */
  twinBelow(base: number, i: number, at: number): boolean {
    const s = this.#slots;
    const tag = tagOfHash(this.#v.i32[(at >>> 2) + 2]!);
    for (let j = base; j < i; j++) {
      if (!s.read(j)) continue;
      const hi = s.hi;
      const lo = s.lo;
      if (tagOf(hi) !== tag) continue;
      const ptr = ptrOf(hi, lo);
      if (this.#logs.valid(ptr) && this.#sameKey(this.#logs.at(ptr), at)) return true;
    }
    return false;
  }

  /** Empties every slot of bucket `base` holding the key of block `at`. */
  dropTwins(base: number, at: number): void {
    const s = this.#slots;
    const tag = tagOfHash(this.#v.i32[(at >>> 2) + 2]!);
    for (let i = base, end = base + SPAN; i < end; i++) {
      if (!s.read(i)) continue;
      const hi = s.hi;
      const lo = s.lo;
      if (tagOf(hi) === tag && this.#sameKey(this.#logs.at(ptrOf(hi, lo)), at)) s.cas(i, hi, lo, 0, 0);
    }
  }

  /**
   * The slot a new entry of the current key should replace when its bucket
   * is full: the lowest victimRank (eviction.ts), the oldest position among
   * equals; a slot into a recycled segment first of all. hi/lo say what it holds.
   */
  victim(now: number, rank: (expired: boolean, log: number, freq: number) => number): number {
    const s = this.#slots;
    const f64 = this.#v.f64;
    let best = -1;
    let bestRank = Infinity;
    let bestAge = Infinity;
    for (let i = this.base, end = i + SPAN; i < end; i++) {
      if (!s.read(i)) continue;
      const hi = s.hi;
      const lo = s.lo;
      const ptr = ptrOf(hi, lo);
      const expired = f64[(this.#logs.at(ptr) >>> 3) + 2]! <= now;
      const valid = this.#logs.valid(ptr);
      const r = valid ? rank(expired, logOf(hi), freqOf(hi)) : -1;
      const age = valid ? this.#logs.age(ptr) : 0;
      if (r < bestRank || (r === bestRank && age < bestAge)) {
        best = i;
        bestRank = r;
        bestAge = age;
        this.hi = hi;
        this.lo = lo;
      }
    }
    return best;
  }
}
