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

/*
 * Record v2: the per-key record (what server-side stores keep since frame v1's
 * successor). Every top-level key of a session is its own entry, so a request
 * that reads one key decodes one value, a commit that changes one key encodes
 * one value, and a store can apply a patch to one session without anyone
 * decoding the rest. Three kinds share one header:
 *
 *    0      1      2      3      4                 12                20            24           28
 *   +------+------+------+------+-----------------+-----------------+-------------+------------+---- - -
 *   | 0x68 | 0x02 | kind | flags| expiresAt u64BE | createdAt u64BE | nameTag u32 | count u32  | entries / target
 *   +------+------+------+------+-----------------+-----------------+-------------+------------+---- - -
 *
 *   entry:  keyLen u16BE | key (UTF-8, keyLen bytes) | valueLen u32BE | value (valueLen bytes)
 *
 *   kind 0, RECORD:  a live session. flags = 0. `count` entries, then nothing.
 *                    Each value is exactly one msgpack value (checked when it is
 *                    decoded, not when the record is scanned: a value that is not
 *                    well formed reads as absent). valueLen = DELETE is invalid.
 *   kind 1, FORWARD: the session moved to another id (regenerate). flags = 0,
 *                    count = 0, the rest of the buffer is the new id (1..255
 *                    visible ASCII bytes). Reads treat it as "no session" (a
 *                    forwarded id is never a credential for the new session);
 *                    patches sent to it are redirected by the core.
 *   kind 2, PATCH:   what a commit sends for an existing session. flags bit 0 =
 *                    CLEAR (drop every entry of the record first); no other bit.
 *                    Entries are keys to set, or keys to delete when
 *                    valueLen = DELETE (then no value bytes follow).
 *
 *   Rules for every kind (a buffer breaking one is malformed: a fresh session):
 *   magic and version exact; expiresAt and createdAt <= 2^53 - 1; keys are valid
 *   UTF-8, never `__proto__`, `constructor` or `prototype`, and distinct within
 *   one buffer; every length fits in the bytes left; nothing after the last entry.
 *   expiresAt is the hard expiry (0 = none), createdAt the session's creation
 *   time, nameTag binds the record to the session (cookie) name it was written
 *   for (see nameTag in record.ts): a record loaded under another name is absent.
 *
 * apply(record, patch) -> record (every implementation: native, JS, the Redis
 * script, the memory stores; byte-identical results):
 *   header  = the patch's, with kind RECORD and flags 0;
 *   entries = the record's entries whose key the patch does not name, in record
 *             order (none when the patch has CLEAR), then the patch's set
 *             entries in patch order (DELETE entries only remove).
 *   So a key written by a commit moves to the end: the record lists keys from
 *   least to most recently written. A patch without CLEAR applies only to a v2
 *   RECORD; with CLEAR it applies to any live value (v1 frames, legacy JSON):
 *   that is how old records upgrade.
 *
 * merge(p1, p2) -> patch (two commits to one session coalesced in a batch, p2 later):
 *   p2 has CLEAR: p2.
 *   otherwise:    header = p2's, flags = p1's; entries = p1's entries whose key
 *                 p2 does not name, in p1 order, then all of p2's entries (sets
 *                 and DELETEs) in p2 order.
 *   These rules make merge exact: apply(apply(r, p1), p2) and
 *   apply(r, merge(p1, p2)) are the same bytes, so batching never changes a result.
 */
export const RECORD_VERSION = 2;
export const RECORD_HEADER = 28;
export const KIND_RECORD = 0;
export const KIND_FORWARD = 1;
export const KIND_PATCH = 2;
/** Patch flag: drop every entry of the record before applying. */
export const FLAG_CLEAR = 1;
/** valueLen of a patch entry that deletes its key. */
export const DELETE = 0xffffffff;
/** Longest key in bytes (u16 length). */
export const MAX_KEY_BYTES = 0xffff;
/** Label hashed with a session name into a record's nameTag. */
export const NAME_TAG_LABEL = 'hotsession record name\0';
