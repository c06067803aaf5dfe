import { KIND_PATCH, KIND_RECORD } from '../codec/layout';
import { encodeValue } from '../codec/msgpack';
import { nameTag } from '../codec/record';
import type { MaybePromise, SessionStore } from '../stores/types';
import { Entries } from './entries';
import { readRecord } from './load';
import type { Binding } from './users';
import { checkUserId } from './users';
import { giveWriter, takeWriter } from './writes';

/**
 * Revoking cookie-store sessions (issue #17) without per-session server
 * state: per user, one small record in a server store the app provides
 * (`CookieStore({ revocations })`: a MemoryStore, SharedMemoryStore or
 * RedisStore), under the id `hotsession-revoked:<user id>`:
 *
 *   nb      logins before this time are revoked ("log out everywhere"),
 *   keep    ... except the session with this handle ("my other devices"),
 *   g.<h>   the session with handle <h> is revoked (one session).
 *
 * Each revocation is a patch of its own keys, so concurrent revocations of
 * one user keep each other. Opening a logged-in cookie costs one `get` of
 * that record (coalesced with the store's other reads of the tick; anonymous
 * cookies cost nothing); a revoked one opens as a fresh session.
 *
 * The record lives as long as a cookie sealed before the revocation can
 * (REVOCATION_TTL, or the session lifetime if longer): a revoked cookie is
 * never resealed, since its next request already sees the revocation.
 */

/** Browsers cap a cookie's lifetime at 400 days (RFC 6265bis): no cookie outlives a record kept that long. */
const REVOCATION_TTL = 400 * 86_400_000;
const TAG = nameTag('hotsession.revocations');

function key(userId: string): string {
  return `hotsession-revoked:${userId}`;
}

function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as Promise<T> | null)?.then === 'function';
}

/** @internal */
export class CookieRevocations {
  readonly #store: SessionStore;
  readonly #ttl: number;

  constructor(store: SessionStore, lifetime: number) {
    this.#store = store;
    this.#ttl = Math.max(REVOCATION_TTL, lifetime);
  }

  /** True when the cookie session bound as `b` was revoked. */
  revoked(b: Binding): MaybePromise<boolean> {
    const rec = this.#store.get(key(b.u));
    if (isPromise(rec)) return rec.then((r) => this.#judge(r, b));
    return this.#judge(rec, b);
  }

  #judge(rec: Awaited<ReturnType<SessionStore['get']>>, b: Binding): boolean {
    if (rec === null) return false;
    const e = new Entries();
    if (readRecord(e, rec, TAG, Date.now(), undefined) < 0) return false;
    if (e.has(`g.${b.h}`)) return true;
    const nb = e.get('nb');
    return typeof nb === 'number' && b.c <= nb && e.get('keep') !== b.h;
  }

  #bytes(kind: number, values: Record<string, unknown>, now: number): Buffer {
    const w = takeWriter();
    try {
      w.begin(kind, 0, now + this.#ttl, now, TAG);
      for (const [k, v] of Object.entries(values)) w.set(k, encodeValue(k, v));
      return w.finish();
    } finally {
      giveWriter(w);
    }
  }

  /**
   * Patches `values` into the user's record, creating it when there is none.
   * Two first revocations of a user racing each other can interleave as
   * patch, patch, set, set, patch, patch, which keeps both; what is left is
   * a set landing after the other's final patch (one round trip wide).
   */
  async #record(userId: string, values: Record<string, unknown>): Promise<void> {
    const now = Date.now();
    const patch = this.#bytes(KIND_PATCH, values, now);
    if ((await this.#store.patch(key(userId), patch, this.#ttl)) === 'ok') return;
    await this.#store.set(key(userId), this.#bytes(KIND_RECORD, values, now), this.#ttl);
    await this.#store.patch(key(userId), patch, this.#ttl);
  }

  async revokeSession(userId: string, handle: string): Promise<boolean> {
    checkUserId(userId);
    if (typeof handle !== 'string' || handle.length === 0) return false;
    await this.#record(userId, { [`g.${handle}`]: 1 });
    return true;
  }

  /** Cookie sessions keep no list: the count of ended sessions is unknown (-1). */
  async revokeUser(userId: string, except: string | undefined): Promise<number> {
    checkUserId(userId);
    await this.#record(userId, { nb: Date.now(), keep: except ?? null });
    return -1;
  }
}
