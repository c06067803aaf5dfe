import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { keyId } from '../../codec/keys';
import { MAX_TIME, SEAL_HEADER } from '../../codec/layout';
import type { Opened, Sealer } from '../../codec/types';

/**
 * The `'signed'` envelope: the payload stays readable (base64url, then
 * msgpack after the header), HMAC-SHA256 makes it unforgeable.
 *
 *    0      1             5                 13                 n-32      n
 *   +------+-------------+-----------------+------------------+---------+
 *   | 0x81 | keyId u32BE | expiresAt u64BE | payload          | mac(32) |
 *   +------+-------------+-----------------+------------------+---------+
 *
 *   mac = HMAC-SHA256(macKey, context || bytes[0, n-32))
 *   context = "hotsession signed cookie v1\0" || u16BE(len(name)) || name   (see macContext)
 *
 * The header has the sealed envelope's shape (src/codec/layout.ts) with
 * another version byte, so neither reader accepts the other's cookies: a
 * sealed reader wants version 1, this one 0x81; and the keys differ anyway
 * (MAC keys are derived with their own HKDF label). Version, key id, expiry,
 * cookie name and payload are all under the MAC.
 */
export const SIGNED_VERSION = 0x81;
const MAC = 32;
const LABEL = 'hotsession signed cookie v1\0';
/** Smallest envelope worth computing a MAC for: header, one payload byte, MAC. */
export const SIGNED_OVERHEAD = SEAL_HEADER + MAC;

/**
 * The bytes hashed before the envelope for cookie `name`: a label no other
 * MAC in hotsession uses, then the length-prefixed name. Computed once per
 * name by the store and passed as `aad`.
 */
export function macContext(name: string): Buffer {
  const n = Buffer.byteLength(name, 'utf8');
  if (n > 0xffff) throw new RangeError('cookie name too long');
  const out = Buffer.allocUnsafe(LABEL.length + 2 + n);
  out.write(LABEL, 0, 'latin1');
  out.writeUInt16BE(n, LABEL.length);
  out.write(name, LABEL.length + 2, 'utf8');
  return out;
}

/** A Sealer-shaped HMAC key ring: the first key signs, the key id picks the verifier. */
export class MacSealer implements Sealer {
  readonly keyIds: readonly number[];
  readonly #keys = new Map<number, KeyObject>();
  readonly #signKey: KeyObject;
  readonly #signId: number;

  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new TypeError('at least one key is required');
    const ids: number[] = [];
    for (const key of keys) {
      const id = keyId(key);
      if (this.#keys.has(id)) throw new TypeError('two keys share an id (duplicate key?)');
      // A KeyObject keeps the key out of the JS heap and skips re-importing it per HMAC.
      this.#keys.set(id, createSecretKey(key));
      ids.push(id);
    }
    this.keyIds = ids;
    this.#signId = ids[0]!;
    this.#signKey = this.#keys.get(this.#signId)!;
  }

  seal(payload: Uint8Array, expiresAt: number, aad?: Uint8Array): Buffer {
    if (!Number.isInteger(expiresAt) || expiresAt < 0 || expiresAt > MAX_TIME) throw new RangeError('expiresAt must be an integer ms timestamp');
    const end = SEAL_HEADER + payload.length;
    const out = Buffer.allocUnsafe(end + MAC);
    out[0] = SIGNED_VERSION;
    out.writeUInt32BE(this.#signId, 1);
    out.writeUInt32BE(Math.floor(expiresAt / 0x100000000), 5);
    out.writeUInt32BE(expiresAt >>> 0, 9);
    out.set(payload, SEAL_HEADER);
    mac(this.#signKey, aad, out.subarray(0, end)).copy(out, end);
    return out;
  }

  open(envelope: Uint8Array, aad?: Uint8Array): Opened | null {
    if (envelope.length <= SIGNED_OVERHEAD || envelope[0] !== SIGNED_VERSION) return null;
    const buf = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.length);
    const key = this.#keys.get(buf.readUInt32BE(1));
    if (key === undefined) return null;
    const end = buf.length - MAC;
    // Constant-time compare over the whole tag; nothing after it is read before it matched.
    if (!timingSafeEqual(mac(key, aad, buf.subarray(0, end)), buf.subarray(end))) return null;
    const hi = buf.readUInt32BE(5);
    if (hi > 0x1fffff) return null;
    return { plaintext: buf.subarray(SEAL_HEADER, end), expiresAt: hi * 0x100000000 + buf.readUInt32BE(9) };
  }
}

const NO_CONTEXT = macContext('');

/** `context` is {@link macContext} of the cookie name (the empty name's when absent). */
function mac(key: KeyObject, context: Uint8Array | undefined, signed: Uint8Array): Buffer {
  return createHmac('sha256', key).update(context ?? NO_CONTEXT).update(signed).digest();
}
