/*
 * A block's position, as slot words carry it (slots.ts):
 * segment * 2^34 + (segment epoch & 0xfff) * 2^22 + unit. 11 bits of
 * segment (layout.MAX_SEGMENTS), 12 of epoch (a pointer into a segment that
 * was handed over since fails validation), 22 of unit (segments up to 64 MiB).
 */

const SEG_SHIFT = 2 ** 34;
const EPOCH_SHIFT = 2 ** 22;

export function position(seg: number, epoch: number, unit: number): number {
  return seg * SEG_SHIFT + (epoch & 0xfff) * EPOCH_SHIFT + unit;
}

export function segOf(ptr: number): number {
  return Math.floor(ptr / SEG_SHIFT);
}

export function epochOf(ptr: number): number {
  return Math.floor(ptr / EPOCH_SHIFT) & 0xfff;
}

export function unitOf(ptr: number): number {
  return ptr % EPOCH_SHIFT;
}

/** An order by age: the segment's age, then the unit. */
export function ageKey(segAge: number, ptr: number): number {
  return segAge * EPOCH_SHIFT + unitOf(ptr);
}
