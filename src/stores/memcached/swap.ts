import type { Client } from 'memjs';
import { codes, HotsessionError } from '../../errors';
import { casSet, gets, STATUS_EXISTS, STATUS_NOT_FOUND, STATUS_OK, STATUS_TOO_LARGE } from './cas';
import type { Version, Versions } from './versions';

/**
 * Read, decide, compare-and-swap, retry: how a patch or a forward changes
 * one memcached item atomically with respect to every other writer of it,
 * in this process or another (memcached's only atomic read-modify-write).
 *
 *   gets ──> decide(value) ──> nothing to write: settle with its result
 *                │
 *                └──> cas set ── stored ─────> settle (stored result)
 *                        ├────── item gone ──> decide(null)
 *                        └────── CAS changed > wait (jittered, growing), gets again
 *
 * In one process the batcher sends one op per id at a time, so a CAS
 * mismatch means another process wrote the item in between. After
 * ATTEMPTS tries the op fails with HOTSESSION_ERR_CONFLICT instead of
 * looping: nothing of it was written.
 */

/** Tries per op before giving up with a conflict. */
export const ATTEMPTS = 12;
/** The wait before try n (n >= 1) is uniform in [0, min(CAP_MS, BASE_MS * 2^(n-1))). */
const BASE_MS = 1;
const CAP_MS = 32;

/**
 * What a swap writes over the item's value, or what it settles with when it
 * writes nothing; for `null` (no item) always the latter.
 */
export type Decision = { write: Uint8Array; stored: unknown } | { result: unknown };

export interface SwapOp {
  key: string;
  /** memcached expiration of the written value (expiry.ts). */
  expiration: number;
  decide(value: Buffer | null): Decision;
}

function errorFor(status: number, what: string): Error {
  if (status === STATUS_TOO_LARGE) return new HotsessionError(codes.RECORD_TOO_LARGE, 'memcached refused the record: larger than its item size limit (-I)');
  return new HotsessionError(codes.STORE, `memcached answered status ${status} to ${what}`);
}

/**
 * Runs `op` to its end on `client` and calls `settle` once (with the
 * decision's result, or an Error). `alive()` false stops the retries (the
 * batch timed out). `cached` is a version read earlier (tried first, without
 * a read; a refusal then costs a fresh read, not a retry), and `versions`
 * learns the value this swap stored.
 */
export function swap(
  client: Client, id: string, op: SwapOp, cached: Version | undefined, versions: Versions,
  alive: () => boolean, settle: (result: unknown) => void,
): void {
  let attempt = 0;

  const fresh = (): void => {
    if (!alive()) return;
    gets(client, op.key, (err, status, value, cas) => {
      if (err) return settle(err);
      if (status === STATUS_NOT_FOUND) return decide(null, 0n, false);
      if (status !== STATUS_OK) return settle(errorFor(status, 'a get'));
      decide(value, cas, false);
    });
  };

  const retry = (): void => {
    if (!alive()) return;
    if (++attempt >= ATTEMPTS) {
      settle(new HotsessionError(codes.CONFLICT, `session ${id} changed under ${ATTEMPTS} compare-and-swap attempts in a row (other writers of it in other processes)`));
      return;
    }
    const wait = Math.random() * Math.min(CAP_MS, BASE_MS * 2 ** (attempt - 1));
    setTimeout(fresh, wait);
  };

  const decide = (value: Buffer | null, cas: bigint, fromCache: boolean): void => {
    const d = op.decide(value);
    if ('result' in d) {
      // A decision to write nothing is only trusted on what memcached answered
      // just now: a remembered value may be out of date.
      if (fromCache) return fresh();
      return settle(d.result);
    }
    // Nothing to swap against: a swap never creates an item (no resurrection).
    if (value === null) return settle(new HotsessionError(codes.STORE, 'a swap decided to write over an absent item'));
    if (cas === 0n) {
      settle(new HotsessionError(codes.STORE, 'memcached reports no CAS values (started with -C): patches cannot be applied atomically'));
      return;
    }
    casSet(client, op.key, d.write, op.expiration, cas, (err, status, _value, stored) => {
      if (err) return settle(err);
      if (status === STATUS_OK) {
        versions.remember(id, Buffer.from(d.write.buffer, d.write.byteOffset, d.write.byteLength), stored);
        return settle(d.stored);
      }
      if (status === STATUS_EXISTS) return fromCache ? fresh() : retry();
      if (status === STATUS_NOT_FOUND) return decide(null, 0n, false);
      settle(errorFor(status, 'a compare-and-swap'));
    });
  };

  if (cached !== undefined) decide(cached.value, cached.cas, true);
  else fresh();
}
