/**
 * The store contract.
 *
 * A store keeps framed records (see src/codec/layout.ts) keyed by session id.
 * The core encodes and frames; the store only moves bytes, so every backend
 * stores exactly the same format and batching stays a store concern.
 *
 * Any method may answer synchronously (the memory store does): the adapters
 * then serve the request without a single await. Batching stores return
 * promises that settle when the backend acknowledged the batch carrying the call.
 *
 * Records are per-key (v2, src/codec/layout.ts): a commit of an existing
 * session sends a PATCH (keys set, keys deleted, CLEAR, new header) and the
 * store applies it to the live record atomically, so concurrent requests that
 * change different keys all keep their changes. Only a brand-new session (a
 * fresh id nobody else knows) is written whole with `set`.
 *
 * Rules every store keeps:
 * - `get` never returns a record past the expiry its last write gave it,
 *   whatever the backend's own eviction does;
 * - "not found" is `null`, never an error; every other failure rejects;
 * - `patch` and `forward` act only on a live record: after `destroy` (logout)
 *   or expiry, a patch from a request that loaded the session earlier writes
 *   nothing (no resurrection), and a FORWARD marker is never patched;
 * - writes to one id keep their order (a batcher sends at most one op per id
 *   at a time, and coalesces queued ones: patches merge, see layout.ts), and a
 *   `destroy` is never overridden by a write queued with it (logout wins);
 * - `close()` releases connections and timers so the process can exit.
 */
export type MaybePromise<T> = T | Promise<T>;

/**
 * A record the store decoded itself: records written by another library
 * (connect-redis JSON, say) that a store reads in `legacy` mode.
 */
export interface DecodedRecord {
  data: Record<string, unknown>;
  /** Hard expiry, ms since the epoch; 0 = none (the store's TTL governs). */
  expiresAt: number;
  /** Creation time, ms since the epoch (use the read time when unknown). */
  createdAt: number;
}

/**
 * What a store did with a patch:
 * - `'ok'`: applied;
 * - `'gone'`: no live record under the id (destroyed, expired, never
 *   stored): nothing written;
 * - `'stale'`: the live value is not a v2 RECORD (a v1 frame, a legacy JSON
 *   record) and the patch has no CLEAR: nothing written; the core resends the
 *   whole session as a CLEAR patch;
 * - `{ movedTo }`: the id holds a FORWARD marker (the session was regenerated):
 *   nothing written; the core sends the patch to `movedTo`.
 */
export type PatchOutcome = 'ok' | 'gone' | 'stale' | { readonly movedTo: string };

/**
 * A per-user index of sessions (users' sessions, src/core/users.ts): for each
 * user id, a small map from session handle to an entry string the core
 * builds (`<session id>\n<json>`). Every operation touches one user's index
 * only, atomically with respect to every other operation on it, so a store
 * can keep one user's index and bookkeeping together (one key, one slot).
 * Listing reads one user's index; nothing scans the keyspace.
 */
export interface UserIndex {
  /**
   * Sets `handle`'s entry in `userId`'s index (replacing one it had); the
   * index then lives at least `ttlMs` from now. Answers how many entries
   * the index holds afterwards (the core prunes only past its bound).
   */
  put(userId: string, handle: string, entry: string, ttlMs: number): MaybePromise<number>;
  /** Every entry of `userId`'s index as [handle, entry] pairs (empty when there is none). */
  list(userId: string): MaybePromise<Array<[string, string]>>;
  /**
   * Removes `handle`'s entry when it names session `sid` (its entry starts
   * with `sid + '\n'`), or whatever it names when `sid` is undefined.
   */
  remove(userId: string, handle: string, sid?: string): MaybePromise<void>;
}

/** A server-side store: records keyed by session id. */
export interface SessionStore {
  /**
   * The record (a v2 RECORD or FORWARD marker, or a v1 frame written before
   * v2), a record decoded by the store (legacy formats), or null when absent
   * or expired.
   */
  get(id: string): MaybePromise<Uint8Array | DecodedRecord | null>;
  /**
   * Writes a whole record that expires `ttlMs` from now, unconditionally.
   * The core uses it only for a new session under a fresh id.
   */
  set(id: string, record: Uint8Array, ttlMs: number): MaybePromise<void>;
  /**
   * Applies a PATCH (src/codec/layout.ts) to the live record under `id`,
   * atomically with respect to every other write to `id` (from any process
   * sharing the backend); afterwards the record expires `ttlMs` from now.
   */
  patch(id: string, patch: Uint8Array, ttlMs: number): MaybePromise<PatchOutcome>;
  /**
   * When `id` holds a live record: atomically replaces it with `marker` (a
   * FORWARD marker built by the core) expiring `graceMs` from now, and
   * returns the record it held (as `get` would). Otherwise writes nothing
   * and returns null.
   */
  forward(id: string, marker: Uint8Array, graceMs: number): MaybePromise<Uint8Array | DecodedRecord | null>;
  /**
   * Largest record (bytes) the store keeps. The core refuses a commit whose
   * record would be larger (estimated from the loaded record and the patch)
   * with HOTSESSION_ERR_RECORD_TOO_LARGE before anything is sent; a store
   * with a limit also refuses a `set` or an applied `patch` past it (two
   * concurrent commits can each fit and together not). Undefined: no limit.
   */
  readonly maxRecordSize?: number;
  /**
   * A request's store-time budget in ms (the store's `timeout`): the core
   * gives a request's load and commit this much time together, so an answer
   * comes within it. Undefined: the store answers synchronously, no budget.
   */
  readonly timeout?: number;
  /** Extends an existing record's lifetime to `ttlMs` from now without rewriting it. */
  touch(id: string, ttlMs: number): MaybePromise<void>;
  /** Removes a record; removing an absent one is not an error. */
  destroy(id: string): MaybePromise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
  /**
   * The store's per-user index; a store without one refuses `session.login()`
   * with HOTSESSION_ERR_USERS_UNSUPPORTED.
   */
  readonly users?: UserIndex;
}

/** What a client-side (cookie) store reads from one request. */
export interface CookieRecord {
  data: Record<string, unknown>;
  expiresAt: number;
  createdAt: number;
  /** The session id sealed with the record. */
  id: string;
  /** Number of cookies the record occupied (chunked stores), so stale ones can be cleared. */
  parts: number;
}

/**
 * A client-side store keeps the whole session in the cookie: nothing on a
 * server, every operation synchronous. The manager handles ids, flags and
 * cookie attributes; the store seals and opens the payload.
 */
export interface CookieSessionStore {
  readonly kind: 'cookie';
  /** Opens the cookie(s) named `name` from a raw Cookie header; null when absent, forged or expired. */
  read(cookieHeader: string, name: string, now: number): CookieRecord | null;
  /**
   * Seals data into cookie `[name, value]` pairs (values cookie-safe).
   * Throws a HOTSESSION_ERR_COOKIE_TOO_LARGE error when it cannot fit.
   */
  write(name: string, id: string, data: Record<string, unknown>, expiresAt: number, createdAt: number): Array<[string, string]>;
  /** Names of every cookie a record of `parts` parts occupies (to clear them). */
  names(name: string, parts: number): string[];
  /**
   * Where revocations of users' cookie sessions are kept (src/core/users-cookie.ts);
   * undefined: cookie sessions of users cannot be revoked.
   */
  readonly revocations?: SessionStore | undefined;
  close(): Promise<void>;
}

/** Any store the manager accepts. */
export type AnyStore = SessionStore | CookieSessionStore;

/** @internal */
export function isCookieStore(store: AnyStore): store is CookieSessionStore {
  return (store as CookieSessionStore).kind === 'cookie';
}
