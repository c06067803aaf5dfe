/**
 * Wire layouts shared by the native and JS codecs. Both must agree byte for byte.
 *
 * Record frame (what server-side stores keep):
 *
 *    0      1      2      3      4                 12                20           24
 *   +------+------+------+------+-----------------+-----------------+------------+------ - -
 *   | 0x68 | ver  | flags| 0x00 | expiresAt u64BE | createdAt u64BE | bodyLen u32| msgpack body
 *   +------+------+------+------+-----------------+-----------------+------------+------ - -
 *
 *   ver = 1, flags = 0 (any other value is rejected: a future format must not be
 *   misread), expiresAt 0 = no hard expiry, bodyLen must equal the bytes that follow.
 *
 * Sealed envelope (the cookie store's AES-256-GCM payload):
 *
 *    0      1             5                 13          25                 n-16      n
 *   +------+-------------+-----------------+-----------+------------------+---------+
 *   | ver  | keyId u32BE | expiresAt u64BE | nonce(12) | ciphertext       | tag(16) |
 *   +------+-------------+-----------------+-----------+------------------+---------+
 *
 *   ver = 1. The GCM additional data is bytes 0..13 followed by the caller's aad
 *   (the cookie name), so version, key id, expiry and name are all authenticated.
 */

export const FRAME_MAGIC = 0x68;
export const FRAME_VERSION = 1;
export const FRAME_HEADER = 24;

export const SEAL_VERSION = 1;
export const SEAL_HEADER = 13;
export const SEAL_NONCE = 12;
export const SEAL_TAG = 16;
export const SEAL_OVERHEAD = SEAL_HEADER + SEAL_NONCE + SEAL_TAG;

/** Largest ms timestamp both codecs accept (2^53 - 1: exact in a double). */
export const MAX_TIME = Number.MAX_SAFE_INTEGER;

/** Prefix hashed with a key to derive its public 32-bit id. */
export const KEY_ID_LABEL = 'hotsession key id\0';
/** HKDF parameters for deriving a 32-byte AEAD key from a secret. */
export const HKDF_SALT = 'hotsession/v1';
export const HKDF_INFO = 'aes-256-gcm';
