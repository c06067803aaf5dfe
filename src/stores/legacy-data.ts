import { MAX_VALUE_DEPTH } from '../codec/msgpack';

/**
 * The one rule for every legacy reader (records another session library
 * wrote, read with `legacy: 'read'`): a legacy session is read as what a
 * hotsession record can hold, so the save that rewrites it in hotsession's
 * format never fails on data the user cannot see or fix:
 * - `__proto__`, `constructor` and `prototype` keys are dropped, at every
 *   depth (JSON.parse makes them own keys; copied by assignment the first
 *   would replace a prototype, and the codec refuses all three);
 * - a top-level value nested deeper than a record value may be
 *   (MAX_VALUE_DEPTH) is dropped, key and all;
 * - `cookie` (express-session's cookie state, not session data) is left out.
 * Everything else is kept as it is.
 */

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * True when `v` nests at most `room` containers deep; drops forbidden keys
 * from the plain objects it walks (in place: `v` is a fresh parse). Arrays
 * and plain objects are containers; anything else (a Date or a BSON value
 * from a driver) is a leaf. Recursion is bounded by `room`.
 */
function fits(v: unknown, room: number): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (Array.isArray(v)) {
    if (room === 0) return false;
    for (const x of v) if (!fits(x, room - 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return true;
  if (room === 0) return false;
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (FORBIDDEN.has(k)) delete o[k];
    else if (!fits(o[k], room - 1)) return false;
  }
  return true;
}

/**
 * The session data of a parsed legacy record (JSON text parsed, or an object
 * a driver decoded), per the rule above; null when it is not a plain object.
 */
export function legacyData(parsed: unknown): Record<string, unknown> | null {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const proto = Object.getPrototypeOf(parsed);
  if (proto !== Object.prototype && proto !== null) return null;
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (k === 'cookie' || FORBIDDEN.has(k) || !fits(v, MAX_VALUE_DEPTH)) continue;
    data[k] = v;
  }
  return data;
}
