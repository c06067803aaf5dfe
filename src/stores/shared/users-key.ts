import { createHash } from 'node:crypto';

/*
 * The table keys of users' indexes (shared/users.ts): a first byte no
 * session id has (ids are visible ASCII), so the table can tell an index
 * from a session by one byte (the eviction walk keeps indexes, reclaim.ts).
 */

const PLAIN = 0x01;
const HASHED = 0x02;

/** The table key of `userId`'s index: the user id, or its SHA-256 when that would pass the table's 255-byte key limit. */
export function indexKey(userId: string): string {
  if (Buffer.byteLength(userId, 'utf8') <= 250) return String.fromCharCode(PLAIN) + userId;
  return String.fromCharCode(HASHED) + createHash('sha256').update(userId, 'utf8').digest('base64url');
}

/** True when a key whose first byte is `b` is a user's index. */
export function isIndexKey(b: number): boolean {
  return b === PLAIN || b === HASHED;
}
