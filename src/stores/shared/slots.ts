/*
 * Index slots: one 64-bit word per session, the only place a record becomes
 * visible. Every change to a session (write, move, eviction, removal) is one
 * compare-and-swap of its slot word, so a thread stopped at any instant leaves
 * each slot either before or after its change, never in between.
 *
 *   value = hi * 2^32 + lo, hi < 2^30
 *   hi: bits 29..16 tag (14 bits, never 0)   bits 15..14 freq (0..3)
 *       bit 13 log (0 small, 1 main)         bits 12..0 ptr bits 44..32
 *   lo: ptr bits 31..0
 *   ptr: where the block is (position.ts): segment * 2^34 + (segment epoch & 0xfff)
 *   * 2^22 + unit. A value recurs only once its segment has been handed over
 *   4096 more times (4096 fills of the whole table), so a CAS never mistakes
 *   a new block for the one it read (no ABA). 0 is an empty slot.
 *
 * Reads are plain Float64 loads (one aligned 8-byte load: single-copy atomic
 * on the 64-bit targets V8 supports, at a twentieth of an Atomics call),
 * decoded through a scratch pair of views; hi < 2^30 keeps the double's
 * exponent below all-ones, so no value is a NaN whose bits a copy could
 * alter. Writes are Atomics.compareExchange on a BigInt64Array view of the
 * same words. 32-bit targets read with Atomics.load instead.
 */

export const TAG_SHIFT = 16;
export const FREQ_SHIFT = 14;
export const FREQ_MAX = 3;
const FREQ_MASK = 3 << FREQ_SHIFT;
export const LOG_BIT = 1 << 13;
const PTR_HI_MASK = 0x1fff;
const TWO32 = 4294967296;

const wide = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(process.arch);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = littleEndian ? 0 : 1;
const HI = littleEndian ? 1 : 0;

/** A thread's window onto the index: decode, compare-and-swap. One per store instance. */
export class Slots {
  readonly #f64: Float64Array;
  readonly #big: BigInt64Array;
  readonly #sf = new Float64Array(1);
  readonly #si = new Int32Array(this.#sf.buffer);
  readonly #sb = new BigInt64Array(this.#sf.buffer);
  /** hi and lo of the last word read (valid after read()). */
  hi = 0;
  lo = 0;

  constructor(sab: SharedArrayBuffer, indexAt: number, slotCount: number) {
    this.#f64 = new Float64Array(sab, indexAt, slotCount);
    this.#big = new BigInt64Array(sab, indexAt, slotCount);
  }

  /** Reads slot `i` into hi/lo; false when empty. */
  read(i: number): boolean {
    if (wide) {
      const d = this.#f64[i]!;
      if (d === 0) return false;
      this.#sf[0] = d;
    } else {
      const b = Atomics.load(this.#big, i);
      if (b === 0n) return false;
      this.#sb[0] = b;
    }
    this.hi = this.#si[HI]!;
    this.lo = this.#si[LO]!;
    return true;
  }

  /** Replaces slot `i` with (nhi, nlo) if it still holds (hi, lo); (0, 0) empties it. */
  cas(i: number, hi: number, lo: number, nhi: number, nlo: number): boolean {
    const si = this.#si;
    si[HI] = hi;
    si[LO] = lo;
    const expected = this.#sb[0]!;
    si[HI] = nhi;
    si[LO] = nlo;
    return Atomics.compareExchange(this.#big, i, expected, this.#sb[0]!) === expected;
  }

  /** Fills an empty slot `i`. */
  claim(i: number, nhi: number, nlo: number): boolean {
    const si = this.#si;
    si[HI] = nhi;
    si[LO] = nlo;
    return Atomics.compareExchange(this.#big, i, 0n, this.#sb[0]!) === 0n;
  }
}

export function makeHi(tag: number, freq: number, log: number, ptr: number): number {
  return (tag << TAG_SHIFT) | (freq << FREQ_SHIFT) | (log === 0 ? 0 : LOG_BIT) | (Math.floor(ptr / TWO32) & PTR_HI_MASK);
}

export function ptrLo(ptr: number): number {
  return ptr | 0;
}

export function tagOf(hi: number): number {
  return hi >>> TAG_SHIFT;
}

export function freqOf(hi: number): number {
  return (hi & FREQ_MASK) >>> FREQ_SHIFT;
}

export function withFreq(hi: number, freq: number): number {
  return (hi & ~FREQ_MASK) | (freq << FREQ_SHIFT);
}

export function logOf(hi: number): number {
  return (hi & LOG_BIT) === 0 ? 0 : 1;
}

export function ptrOf(hi: number, lo: number): number {
  return (hi & PTR_HI_MASK) * TWO32 + (lo >>> 0);
}

/** Same block (log and position), whatever the freq bits say. */
export function samePtr(hi: number, lo: number, log: number, ptr: number): boolean {
  return lo === (ptr | 0) && logOf(hi) === log && (hi & PTR_HI_MASK) === (Math.floor(ptr / TWO32) & PTR_HI_MASK);
}

/** The 14-bit tag of a hash (never 0: 0 marks an empty slot). */
export function tagOfHash(h: number): number {
  return (h >>> 18) || 1;
}
