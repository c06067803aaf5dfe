import type { DecodedRecord } from '../types';
import { FRAME_MAGIC } from '../../codec/layout';
import { legacyData } from '../legacy-data';

/**
 * Reading records that connect-redis wrote, so a live app can move from
 * express-session + connect-redis to hotsession without logging anyone out.
 *
 * connect-redis stores `JSON.stringify(session)` where the session carries
 * express-session's `cookie` object (`originalMaxAge`, `expires` as an ISO
 * string, and the cookie attributes). hotsession keeps its own cookie
 * settings, so the `cookie` field is dropped and only its expiry survives.
 * The next save replaces the record with a hotsession record under the
 * same key (the core sends a CLEAR patch, which replaces any live value).
 *
 * The session data follows the one rule every legacy reader keeps
 * (src/stores/legacy-data.ts: no `__proto__` / `constructor` / `prototype`
 * at any depth, no value nested deeper than a record value may be).
 */

/** True when a stored value cannot be a hotsession record and may be legacy JSON. */
export function maybeLegacy(value: Uint8Array): boolean {
  // A record starts with 0x68 ('h'); no JSON text does.
  return value.length > 1 && value[0] !== FRAME_MAGIC;
}

/**
 * The connect-redis record in `value`, or null when it is not one (the
 * caller then hands the raw bytes to the core, which treats them as a bad
 * record: a fresh session).
 */
export function decodeLegacy(value: Buffer, now: number): DecodedRecord | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return null;
  }
  const data = legacyData(parsed);
  if (data === null) return null;
  const cookie = (parsed as Record<string, unknown>).cookie;
  let expiresAt = 0;
  if (cookie !== null && typeof cookie === 'object') {
    const expires = (cookie as { expires?: unknown }).expires;
    if (typeof expires === 'string' || typeof expires === 'number') {
      const t = typeof expires === 'number' ? expires : Date.parse(expires);
      // An unreadable expiry must not make a record immortal: treat it as expired.
      expiresAt = Number.isFinite(t) && t > 0 ? t : 1;
    }
  }
  return { data, expiresAt, createdAt: now };
}
