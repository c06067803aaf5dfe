import type { Logs } from './log';
import { ptrOf, type Slots } from './slots';

/*
 * Whole-index passes, for maintenance and monitoring (never per request):
 * plain 8-byte reads of every slot, a CAS only where something changes.
 */

/** Empties the slot of every expired session (and of any left pointing into a recycled segment); returns how many expired. */
export function sweep(slots: Slots, logs: Logs, f64: Float64Array, n: number): number {
  const now = Date.now();
  let freed = 0;
  for (let i = 0; i < n; i++) {
    if (!slots.read(i)) continue;
    const hi = slots.hi;
    const lo = slots.lo;
    const ptr = ptrOf(hi, lo);
    const stale = !logs.valid(ptr);
    if ((stale || f64[(logs.at(ptr) >>> 3) + 2]! <= now) && slots.cas(i, hi, lo, 0, 0) && !stale) freed++;
  }
  return freed;
}

/** Empties every slot. */
export function clear(slots: Slots, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let tries = 0; tries < 64 && slots.read(i); tries++) if (slots.cas(i, slots.hi, slots.lo, 0, 0)) break;
  }
}

/** Occupied slots. */
export function occupied(slots: Slots, n: number): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (slots.read(i)) count++;
  return count;
}
