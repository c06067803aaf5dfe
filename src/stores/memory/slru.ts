/**
 * A segmented LRU over integer slots: the eviction policy of the memory
 * stores, kept apart from what they store so a store over shared memory can
 * use it too (it needs nothing but typed arrays).
 *
 * Two segments, each a doubly linked list (most recently used at the head):
 * - probation: where every new entry starts;
 * - protected: entries used again after they were inserted (a returning
 *   session), at most `protectedMax` of them; the least recently used one
 *   overflows back to probation's head.
 *
 * The victim is probation's least recently used entry (protected's only
 * when probation is empty). So a flood of one-shot entries (cookieless
 * visitors each writing a new session) evicts itself, while sessions that
 * came back stay: with max = 200, a returning user survives any number of
 * anonymous writes as long as fewer than 160 other returning users were
 * active since. Every operation is O(1).
 */

const NIL = -1;
const PROBATION = 0;
const PROTECTED = 1;

/** Share of `max` the protected segment may hold (the usual SLRU split). */
const PROTECTED_SHARE = 0.8;

export class SegmentedLru {
  readonly max: number;
  /** Most entries the protected segment holds (at least one slot is always left to probation). */
  readonly protectedMax: number;
  #prev: Int32Array;
  #next: Int32Array;
  #seg: Uint8Array;
  readonly #head = [NIL, NIL];
  readonly #tail = [NIL, NIL];
  readonly #size = [0, 0];
  /** Slots released by remove(), reused before new ones. */
  #free: Int32Array;
  #freeTop = 0;
  /** Slots handed out so far (the arrays' used length). */
  #high = 0;

  constructor(max: number, initial = 1024) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('max must be a positive integer');
    this.max = max;
    this.protectedMax = Math.min(max - 1, Math.floor(max * PROTECTED_SHARE));
    const n = Math.max(1, Math.min(max, initial));
    this.#prev = new Int32Array(n);
    this.#next = new Int32Array(n);
    this.#seg = new Uint8Array(n);
    this.#free = new Int32Array(n);
  }

  /** Entries held. */
  get size(): number {
    return this.#size[PROBATION]! + this.#size[PROTECTED]!;
  }

  get probation(): number {
    return this.#size[PROBATION]!;
  }

  get protected(): number {
    return this.#size[PROTECTED]!;
  }

  /** Slots that exist (a store sizes its per-slot arrays to this). */
  get capacity(): number {
    return this.#prev.length;
  }

  #grow(): void {
    const n = Math.min(this.max, this.#prev.length * 2);
    const grow = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.#prev = grow(this.#prev, (k) => new Int32Array(k));
    this.#next = grow(this.#next, (k) => new Int32Array(k));
    this.#seg = grow(this.#seg, (k) => new Uint8Array(k));
    this.#free = grow(this.#free, (k) => new Int32Array(k));
  }

  #unlink(slot: number): void {
    const seg = this.#seg[slot]!;
    const p = this.#prev[slot]!;
    const n = this.#next[slot]!;
    if (p === NIL) this.#head[seg] = n;
    else this.#next[p] = n;
    if (n === NIL) this.#tail[seg] = p;
    else this.#prev[n] = p;
    this.#size[seg]!--;
  }

  #pushHead(slot: number, seg: number): void {
    const h = this.#head[seg]!;
    this.#seg[slot] = seg;
    this.#prev[slot] = NIL;
    this.#next[slot] = h;
    if (h === NIL) this.#tail[seg] = slot;
    else this.#prev[h] = slot;
    this.#head[seg] = slot;
    this.#size[seg]!++;
  }

  /**
   * A slot for a new entry, at probation's head. Call only while
   * `size < max` (evict `victim()` first): the store decides what eviction
   * means for its data.
   */
  insert(): number {
    if (this.size >= this.max) throw new RangeError('the policy is full: remove victim() first');
    let slot: number;
    if (this.#freeTop > 0) slot = this.#free[--this.#freeTop]!;
    else {
      if (this.#high === this.#prev.length) this.#grow();
      slot = this.#high++;
    }
    this.#pushHead(slot, PROBATION);
    return slot;
  }

  /** The entry was read (a session loaded again): promoted to protected, or refreshed there. */
  hit(slot: number): void {
    this.#unlink(slot);
    this.#pushHead(slot, PROTECTED);
    if (this.#size[PROTECTED]! > this.protectedMax) {
      const out = this.#tail[PROTECTED]!;
      this.#unlink(out);
      this.#pushHead(out, PROBATION);
    }
  }

  /** The entry was written: most recently used in its own segment (a write alone promotes nothing). */
  touch(slot: number): void {
    const seg = this.#seg[slot]!;
    if (this.#head[seg] === slot) return;
    this.#unlink(slot);
    this.#pushHead(slot, seg);
  }

  /** Forgets `slot` (it can be handed out again). */
  remove(slot: number): void {
    this.#unlink(slot);
    this.#free[this.#freeTop++] = slot;
  }

  /** The slot to evict next, or -1 when empty. */
  victim(): number {
    const t = this.#tail[PROBATION]!;
    return t !== NIL ? t : this.#tail[PROTECTED]!;
  }

  /** True when `slot` is in the protected segment. */
  isProtected(slot: number): boolean {
    return this.#seg[slot] === PROTECTED;
  }

  /** Forgets everything. */
  clear(): void {
    this.#head[0] = this.#head[1] = NIL;
    this.#tail[0] = this.#tail[1] = NIL;
    this.#size[0] = this.#size[1] = 0;
    this.#freeTop = 0;
    this.#high = 0;
  }
}
