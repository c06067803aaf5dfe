import { randomFillSync } from 'node:crypto';

/** Bytes of entropy in a session id (192 bits). */
export const ID_BYTES = 24;
/** base64url length of an id of ID_BYTES. */
export const ID_LENGTH = 32;

// One randomFillSync per 128 ids instead of one syscall-backed call per id.
const POOL_IDS = 128;
const pool = Buffer.allocUnsafe(ID_BYTES * POOL_IDS);
let next = POOL_IDS;

/** A fresh session id: 24 random bytes, base64url, 32 characters. */
export function generateId(): string {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const start = next++ * ID_BYTES;
  return pool.toString('base64url', start, start + ID_BYTES);
}

const ID_RE = /^[A-Za-z0-9_-]{32}$/;

/** True for a string that `generateId` could have produced. */
export function isValidId(id: string): boolean {
  return id.length === ID_LENGTH && ID_RE.test(id);
}

/** Ids from a user-supplied `genid` are only bounded: visible ASCII, 1..255 chars. */
const CUSTOM_ID_RE = /^[\x21-\x7e]{1,255}$/;

/** Validation for ids from a custom `genid`. */
export function isValidCustomId(id: string): boolean {
  return CUSTOM_ID_RE.test(id);
}
