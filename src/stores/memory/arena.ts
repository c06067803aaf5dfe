import { copyRange } from './bytes';

/**
 * Record bytes of the memory store, packed into slabs of its own.
 *
 * Why not one buffer per record: a Buffer under 4 KiB from
 * `Buffer.allocUnsafe` (every RecordWriter result, every apply) is a slice
 * of Node's shared 8 KiB pool, and msgpackr hands out slices of its own
 * buffer, so keeping the buffer a store was given pins a whole block:
 * sessions read often and rarely rewritten then held one block each (37,038
 * of them held 289 MB for 10.5 MB of records). A buffer of its own per
 * record fixes the size but costs an ArrayBuffer, its backing store and a
 * malloc per write (about 250 ns here against 30 ns for a copy into a slab,
 * and some 150 bytes of headers per record).
 *
 * So records are copied into 64 KiB slabs, one after the other, each behind
 * an 8-byte header (slot, length) so a slab can be walked:
 *
 *   slab: | slot u32 | len u32 | record bytes | slot u32 | len u32 | record bytes | ...
 *
 * A slab is append-only: bytes once written are never written again, so a
 * view handed out by `view()` (a session being served) stays exactly what
 * it was, whatever happens to the record afterwards. Space freed by a
 * rewrite or a removal is reclaimed by compaction: when a full slab's live
 * bytes fall under 60% of it, its live records move to the current slab
 * and the store lets go of it (the memory goes when the last view into it
 * does). Slab memory therefore stays under 1/0.6 = 1.67 times the live
 * record bytes (with their headers) plus one slab, and each freed byte
 * causes at most 1.5 bytes of moving (amortized O(1); at 50% it would be
 * one byte for a 2x bound). Records larger than an eighth of a slab get a
 * buffer of their own.
 */

const SLAB = 64 * 1024;
const HDR = 8;
const LARGE = SLAB / 8;
/** A full slab is compacted when its live bytes fall below this share of it (see above). */
const COMPACT_BELOW = 0.6;

const NONE = -1;

export class Arena {
  #slabs: (Buffer | null)[] = [];
  /** Per slab: bytes of live records (headers included), and bytes written so far. */
  #live: number[] = [];
  #used: number[] = [];
  /** Indexes of dropped slabs, reused by new ones. */
  #spare: number[] = [];
  /** Slab being filled, and where. */
  #cur = NONE;
  #at = 0;
  #slabOf = new Int32Array(0);
  #offOf = new Uint32Array(0);
  #lenOf = new Uint32Array(0);
  /** Bytes of slab memory held (live, dead and not yet used). */
  #allocated = 0;

  /** Makes room for slots `[0, n)`. */
  grow(n: number): void {
    if (n <= this.#slabOf.length) return;
    const s = new Int32Array(n).fill(NONE);
    s.set(this.#slabOf);
    const o = new Uint32Array(n);
    o.set(this.#offOf);
    const l = new Uint32Array(n);
    l.set(this.#lenOf);
    this.#slabOf = s;
    this.#offOf = o;
    this.#lenOf = l;
  }

  /** Bytes of memory held for records (headers, freed and unused space included). */
  get allocated(): number {
    return this.#allocated;
  }

  /** Slot's record as a view (never written again, see the module comment); an empty view when none. */
  view(slot: number): Buffer {
    const k = this.#slabOf[slot]!;
    if (k === NONE) return EMPTY;
    const off = this.#offOf[slot]!;
    return this.#slabs[k]!.subarray(off, off + this.#lenOf[slot]!);
  }

  /** Record length of `slot` (0 when none). */
  length(slot: number): number {
    return this.#slabOf[slot] === NONE ? 0 : this.#lenOf[slot]!;
  }

  /** The slab holding slot's record (read it at `offset(slot)`, `length(slot)` bytes), or null. */
  slab(slot: number): Buffer | null {
    const k = this.#slabOf[slot]!;
    return k === NONE ? null : this.#slabs[k]!;
  }

  offset(slot: number): number {
    return this.#offOf[slot]!;
  }

  /** Stores a copy of `bytes` as slot's record (replacing any it had). */
  put(slot: number, bytes: Uint8Array): void {
    const out = this.reserve(slot, bytes.byteLength);
    copyRange(bytes, 0, bytes.byteLength, out, this.#offOf[slot]!);
  }

  /**
   * Makes room for an `n`-byte record as slot's new record and returns the
   * slab to write it into, at `offset(slot)`. The old record is freed, but
   * its bytes stay as they were: read them (a view, or the slab from
   * `slab()` taken before) while writing the new one.
   */
  reserve(slot: number, n: number): Buffer {
    const oldSlab = this.#slabOf[slot]!;
    const oldLen = this.#lenOf[slot]!;
    // Detached first: a compaction started below (a full slab retired) must
    // see the old record as dead, not move it.
    this.#slabOf[slot] = NONE;
    let k: number;
    let at: number;
    if (n > LARGE) {
      k = this.#newSlab(HDR + n);
      at = 0;
    } else {
      if (this.#cur === NONE || this.#at + HDR + n > SLAB) {
        const full = this.#cur;
        this.#cur = this.#newSlab(SLAB);
        this.#at = 0;
        if (full !== NONE) this.#check(full, this.#live[full]!);
      }
      k = this.#cur;
      at = this.#at;
      this.#at = at + HDR + n;
    }
    const slab = this.#slabs[k]!;
    this.#used[k] = at + HDR + n;
    slab[at] = slot & 0xff;
    slab[at + 1] = (slot >>> 8) & 0xff;
    slab[at + 2] = (slot >>> 16) & 0xff;
    slab[at + 3] = slot >>> 24;
    slab[at + 4] = n & 0xff;
    slab[at + 5] = (n >>> 8) & 0xff;
    slab[at + 6] = (n >>> 16) & 0xff;
    slab[at + 7] = n >>> 24;
    this.#live[k]! += HDR + n;
    this.#slabOf[slot] = k;
    this.#offOf[slot] = at + HDR;
    this.#lenOf[slot] = n;
    if (oldSlab !== NONE) this.#freed(oldSlab, oldLen);
    return slab;
  }

  #newSlab(size: number): number {
    const slab = Buffer.allocUnsafeSlow(size);
    this.#allocated += size;
    // A dropped slab's index is reused: indexes stay few.
    const k = this.#spare.pop() ?? this.#slabs.length;
    this.#slabs[k] = slab;
    this.#live[k] = 0;
    this.#used[k] = 0;
    return k;
  }

  /** Forgets slot's record. */
  free(slot: number): void {
    const k = this.#slabOf[slot]!;
    if (k === NONE) return;
    this.#slabOf[slot] = NONE;
    this.#freed(k, this.#lenOf[slot]!);
  }

  #freed(k: number, len: number): void {
    // Compacted meanwhile (its live records moved, the rest was dead): nothing left to count.
    if (this.#slabs[k] === null) return;
    const left = (this.#live[k]! -= HDR + len);
    // The slab being filled is checked once it is full.
    if (k !== this.#cur) this.#check(k, left);
  }

  #check(k: number, live: number): void {
    const size = this.#slabs[k]!.length;
    if (live === 0) this.#drop(k);
    else if (size === SLAB && live < size * COMPACT_BELOW) this.#compact(k);
  }

  #drop(k: number): void {
    this.#release(k);
    this.#spare.push(k);
  }

  #release(k: number): void {
    this.#allocated -= this.#slabs[k]!.length;
    this.#slabs[k] = null;
    this.#live[k] = 0;
  }

  /** Moves slab k's live records to the current slab and lets go of k. */
  #compact(k: number): void {
    const slab = this.#slabs[k]!;
    const used = this.#used[k]!;
    // Released first so nothing is placed back into it, and its index is
    // reused only afterwards: a record of k is live when its slot still
    // points at k and at that offset.
    this.#release(k);
    for (let at = 0; at + HDR <= used; ) {
      const slot = u32le(slab, at);
      const n = u32le(slab, at + 4);
      const off = at + HDR;
      if (this.#slabOf[slot] === k && this.#offOf[slot] === off) {
        // Its old place is in k, already released: only the new one counts.
        this.#slabOf[slot] = NONE;
        const out = this.reserve(slot, n);
        copyRange(slab, off, off + n, out, this.#offOf[slot]!);
      }
      at = off + n;
    }
    this.#spare.push(k);
  }

  /** Forgets every record. */
  clear(): void {
    this.#slabs = [];
    this.#live = [];
    this.#used = [];
    this.#spare = [];
    this.#cur = NONE;
    this.#at = 0;
    this.#slabOf.fill(NONE);
    this.#allocated = 0;
  }
}

const EMPTY = Buffer.alloc(0);

function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}
