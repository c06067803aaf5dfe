import type { DecodedRecord } from '../types';
import { FRAME_MAGIC } from '../../codec/layout';

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
 * Keys named `__proto__`, `constructor` or `prototype` are dropped at every
 * depth: JSON.parse makes them own properties (a `__proto__` one would
 * change an object's prototype if the data were copied by assignment), and
 * hotsession's records refuse them, so a session keeping one could never
 * be saved again. Every store's legacy reader follows this one rule.
 */

/** Keys no session data may hold, at any depth (the record format refuses them too). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** True when a stored value cannot be a hotsession record and may be legacy JSON. */
export function maybeLegacy(value: Uint8Array): boolean {
  // A record starts with 0x68 ('h'); no JSON text does.
  return value.length > 1 && value[0] !== FRAME_MAGIC;
}

function dropForbidden(key: string, value: unknown): unknown {
  return FORBIDDEN_KEYS.has(key) ? undefined : value;
}

/**
 * JSON.parse, without the forbidden keys. The reviver (which costs about as
 * much as the parse) runs only when the text may name one: a key is spelled
 * plainly or with a `\u` escape.
 */
export function parseLegacyJson(text: string): unknown {
  const suspect = text.includes('__proto__') || text.includes('constructor') || text.includes('prototype') || text.includes('\\u');
  return suspect ? JSON.parse(text, dropForbidden) : JSON.parse(text);
}

/**
 * The connect-redis record in `value`, or null when it is not one (the
 * caller then hands the raw bytes to the core, which treats them as a bad
 * record: a fresh session).
 */
export function decodeLegacy(value: Buffer, now: number): DecodedRecord | null {
  let parsed: unknown;
  try {
    parsed = parseLegacyJson(value.toString('utf8'));
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const { cookie, ...data } = parsed as Record<string, unknown>;
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
