import { codec } from '../../codec';
import { FRAME_MAGIC, KIND_FORWARD, KIND_RECORD, RECORD_HEADER, RECORD_VERSION } from '../../codec/layout';
import { decodeLegacy } from './legacy';

/**
 * What a memcached value is to a patch or a forward (types.ts: they act only
 * on a live record):
 * - 'record': a live v2 RECORD (a patch applies to it);
 * - 'other':  a live session in an older format, a v1 frame or (with
 *             `legacy: 'read'`) connect-memcached JSON: only a CLEAR patch
 *             replaces it;
 * - a string: the id a FORWARD marker points to (nothing is ever written over it);
 * - null:     nothing a read would hand over as a session (malformed, past
 *             its own expiry, foreign bytes): the session is gone.
 */
export type Held = 'record' | 'other' | { movedTo: string } | null;

/** Classifies a stored value at time `now` (see Held). */
export function held(value: Buffer, legacy: boolean, now: number): Held {
  if (value.length === 0) return null;
  if (value[0] === FRAME_MAGIC && value[1] === RECORD_VERSION) {
    // A RECORD is judged by its header alone: the apply that follows scans it
    // whole (and finds nothing to apply to when it is malformed), so a
    // second scan here would only cost time (bench/stores-memcached.mjs).
    if (value[2] === KIND_RECORD && value.length >= RECORD_HEADER) {
      const expiresAt = value.readUInt32BE(4) * 0x100000000 + value.readUInt32BE(8);
      return expiresAt !== 0 && expiresAt <= now ? null : 'record';
    }
    const v = codec.scan(value);
    if (v === null || (v.expiresAt !== 0 && v.expiresAt <= now)) return null;
    if (v.kind === KIND_FORWARD && v.target !== null) return { movedTo: v.target };
    return null;
  }
  if (value[0] === FRAME_MAGIC) {
    const f = codec.unframe(value);
    return f === null || (f.expiresAt !== 0 && f.expiresAt <= now) ? null : 'other';
  }
  if (legacy) {
    const r = decodeLegacy(value, now);
    return r === null || (r.expiresAt !== 0 && r.expiresAt <= now) ? null : 'other';
  }
  return null;
}
