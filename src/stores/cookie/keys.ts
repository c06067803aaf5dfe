import { hkdfSync } from 'node:crypto';
import { deriveKey } from '../../codec/keys';
import { HKDF_SALT } from '../../codec/layout';
import { optionsError } from '../../errors';

/** HKDF info of the signed mode's MAC keys: never the AEAD keys' label, so one secret gives two unrelated keys. */
const MAC_INFO = 'hotsession cookie hmac-sha256';

/** A secret given as text or bytes. */
export type SecretInput = string | Buffer;

/** The key options of CookieStore, as given. */
export interface KeyInput {
  secret?: SecretInput;
  secrets?: readonly SecretInput[];
  keys?: readonly Buffer[];
  keyPairs?: readonly (SecretInput | null | undefined)[];
}

/** Smallest secret accepted: 32 bytes, the key size itself. */
export const MIN_SECRET = 32;

function secretBytes(s: unknown, what: string): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.isBuffer(s) ? s : null;
  if (b === null) throw optionsError(`CookieStore ${what} must be a string or a Buffer`);
  if (b.length < MIN_SECRET) throw optionsError(`CookieStore ${what} must be at least ${MIN_SECRET} bytes (use 32 random bytes)`);
  return b;
}

function macKey(secret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, MAC_INFO, 32));
}

/**
 * Turns the key options into the ring the mode needs, once, at construction:
 * AES-256-GCM keys for `'sealed'`, HMAC keys for `'signed'`. Exactly one of
 * secret / secrets / keys / keyPairs must be given. Order is kept: the first
 * key seals or signs, every key opens.
 */
export function resolveKeys(o: KeyInput, mode: 'sealed' | 'signed'): Buffer[] {
  const given = (['secret', 'secrets', 'keys', 'keyPairs'] as const).filter((k) => o[k] !== undefined);
  if (given.length !== 1) throw optionsError('CookieStore needs exactly one of secret, secrets, keys or keyPairs');
  const sealed = mode === 'sealed';
  if (o.secret !== undefined || o.secrets !== undefined) {
    const list = o.secret !== undefined ? [o.secret] : o.secrets;
    if (!Array.isArray(list) || list.length === 0) throw optionsError('CookieStore secrets must be a non-empty list');
    return list.map((s, i) => {
      const b = secretBytes(s, `secrets[${i}]`);
      return sealed ? deriveKey(b) : macKey(b);
    });
  }
  if (o.keys !== undefined) {
    const list = o.keys;
    if (!Array.isArray(list) || list.length === 0) throw optionsError('CookieStore keys must be a non-empty list of 32-byte Buffers');
    return list.map((k, i) => {
      if (!Buffer.isBuffer(k) || k.length !== 32) throw optionsError(`CookieStore keys[${i}] must be a 32-byte Buffer`);
      // Raw keys are AEAD keys; the signed mode never uses a key as given, only an HKDF child of it.
      return sealed ? k : macKey(k);
    });
  }
  const pairs = o.keyPairs;
  if (!Array.isArray(pairs) || pairs.length === 0) throw optionsError('CookieStore keyPairs must be a non-empty list');
  const out: Buffer[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const auth = secretBytes(pairs[i], `keyPairs[${i}] (authentication key)`);
    const enc = pairs[i + 1];
    if (!sealed) {
      out.push(macKey(auth));
    } else if (enc === undefined || enc === null) {
      out.push(deriveKey(auth));
    } else {
      if (!Buffer.isBuffer(enc) || enc.length !== 32) throw optionsError(`CookieStore keyPairs[${i + 1}] (encryption key) must be a 32-byte Buffer (AES-256) or null`);
      out.push(enc);
    }
  }
  return out;
}
