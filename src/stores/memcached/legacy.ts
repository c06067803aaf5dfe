import { legacyData } from '../legacy-data';
import type { DecodedRecord } from '../types';

const OPEN_BRACE = 0x7b;

/**
 * Decodes a record connect-memcached wrote: the express-session object as a
 * JSON string (the `memcached` driver serialises objects with JSON.stringify).
 * `cookie` is express-session's cookie state, not session data: it gives the
 * expiry and is dropped. Anything that is not a JSON object with a `cookie`
 * object gives null, so a corrupt legacy record is a fresh session, never an
 * error, and so is a record connect-memcached encrypted (its `secret` option
 * stores kruptein's `{"hmac","ct","iv",...}` JSON, which must not be mistaken
 * for session data). The data follows the one rule of every legacy reader
 * (legacy-data.ts: no `__proto__` / `constructor` / `prototype` key at any
 * depth, nothing nested deeper than a record value may be).
 */
export function decodeLegacy(value: Uint8Array, now: number): DecodedRecord | null {
  if (value.length === 0 || value[0] !== OPEN_BRACE) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const cookie = (parsed as { cookie?: unknown }).cookie;
  if (cookie === null || typeof cookie !== 'object') return null;
  const data = legacyData(parsed);
  return data === null ? null : { data, expiresAt: cookieExpiry(cookie), createdAt: now };
}

function cookieExpiry(cookie: unknown): number {
  if (cookie === null || typeof cookie !== 'object') return 0;
  const expires = (cookie as { expires?: unknown }).expires;
  if (typeof expires !== 'string' && typeof expires !== 'number') return 0;
  const t = new Date(expires).getTime();
  return Number.isFinite(t) && t > 0 ? t : 0;
}
