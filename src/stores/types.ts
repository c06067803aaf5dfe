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
 * Rules every store keeps:
 * - `get` never returns a record past the expiry its last `set`/`touch` gave it,
 *   whatever the backend's own eviction does;
 * - "not found" is `null`, never an error; every other failure rejects;
 * - writes to one id collapse to the last within a batch, but a `destroy`
 *   is never overridden by a `set`/`touch` of the same batch (logout wins);
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

/** A server-side store: records keyed by session id. */
export interface SessionStore {
  /** The framed record, a record decoded by the store, or null when absent or expired. */
  get(id: string): MaybePromise<Uint8Array | DecodedRecord | null>;
  /** Writes a framed record that expires `ttlMs` from now. */
  set(id: string, record: Uint8Array, ttlMs: number): MaybePromise<void>;
  /** Extends an existing record's lifetime to `ttlMs` from now without rewriting it. */
  touch(id: string, ttlMs: number): MaybePromise<void>;
  /** Removes a record; removing an absent one is not an error. */
  destroy(id: string): MaybePromise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
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
  close(): Promise<void>;
}

/** Any store the manager accepts. */
export type AnyStore = SessionStore | CookieSessionStore;

/** @internal */
export function isCookieStore(store: AnyStore): store is CookieSessionStore {
  return (store as CookieSessionStore).kind === 'cookie';
}
