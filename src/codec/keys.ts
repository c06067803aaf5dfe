import { createHash, hkdfSync } from 'node:crypto';
import { HKDF_INFO, HKDF_SALT, KEY_ID_LABEL } from './layout';

/**
 * Derives a 32-byte AES key from a secret with HKDF-SHA256. Run once per
 * secret at start-up, never per request.
 */
export function deriveKey(secret: string | Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, HKDF_INFO, 32));
}

/** Public 32-bit id of a key: the first 4 bytes of SHA-256(label || key). */
export function keyId(key: Buffer): number {
  return createHash('sha256').update(KEY_ID_LABEL).update(key).digest().readUInt32BE(0);
}
