import { codes, HotsessionError, optionsError } from '../errors';
import type { MaybePromise, SessionStore, UserIndex } from '../stores/types';
import { Entries } from './entries';
import { generateId } from './id';
import { readRecord } from './load';
import type { SessionState } from './state';

/**
 * Users' sessions on a server store: which sessions a user has, and ending
 * them (issue #17, ASVS 7.4.3 / 7.4.5 / 7.5.2).
 *
 * A logged-in session carries its binding under one reserved key of its own
 * record (USER_KEY: user id, handle, login time, opt-in meta). The store's
 * UserIndex maps, per user, each session's handle to an entry:
 *
 * ```
 *   <session id> "\n" {"c": login time, "l": last seen, "x": listed until, "m": meta}
 * ```
 *
 * The id stays server-side (it is a bearer credential): callers only ever
 * see handles, random values unrelated to the id.
 *
 * Why it is race-free without get-then-set: every index operation touches one
 * entry atomically (put one handle, remove one handle if it still names a
 * given id), and revoking a session is the store's own `destroy`, the
 * no-resurrection path: a patch in flight for a destroyed id answers 'gone'
 * and writes nothing. A regenerate() of a logged-in session indexes the new
 * id *before* it forwards the old one, so a revocation that read either id
 * ends the session (destroy of the old id makes the forward find nothing,
 * and regenerate then removes the new id itself).
 *
 * "x" bounds how long the session can live: every commit of a logged-in
 * session refreshes its entry (a `put`) once per `seenInterval`, with
 * x = now + ttl + seenInterval, which is past the session's expiry whatever
 * its later writes do. Entries past "x" are pruned on login and listing;
 * listing also checks each listed id with one `get` (batched by the store).
 * The index is bounded: a login past `maxPerUser` live sessions ends the
 * least recently seen ones.
 */

/** The reserved top-level key of a logged-in session's record. */
export const USER_KEY = '__hotsession_user';

/** Options of users' sessions (`SessionOptions.users`). */
export interface UsersOptions {
  /**
   * Most live sessions one user keeps: a login past it ends the least
   * recently seen sessions (a max-sessions policy).
   * @default 100
   */
  maxPerUser?: number;
  /**
   * How often (ms) a logged-in session's `lastSeenAt` is refreshed in its
   * user's index: at most one index write per session per interval, joined
   * to that request's commit. Requests of anonymous sessions never pay it.
   * @default 60_000
   */
  seenInterval?: number;
}

/** One live session of a user, as `sessionsOf` lists it. */
export interface UserSessionInfo {
  /** Opaque handle of the session (compare with `session.handle`); not its id. */
  handle: string;
  /** Login time, ms since the epoch. */
  createdAt: number;
  /** Last request seen (at `seenInterval` resolution), ms since the epoch. */
  lastSeenAt: number;
  /** What `login(userId, meta)` recorded (null when nothing). */
  meta: Record<string, unknown> | null;
}

/** What a logged-in session's record holds under USER_KEY. */
export interface Binding {
  u: string;
  h: string;
  c: number;
  m: Record<string, unknown> | null;
}

interface Entry {
  sid: string;
  c: number;
  l: number;
  x: number;
  m: Record<string, unknown> | null;
}

/** Most process-local "last refreshed" marks kept (then forgotten all at once: a refresh too many is harmless). */
const SEEN_MAX = 100_000;
/** Longest user id accepted (it becomes part of a store key). */
const MAX_USER_ID = 512;

/** @internal The binding of a session's entries, or null (anonymous, or a value that is no binding). */
export function bindingOf(e: Entries): Binding | null {
  return e.has(USER_KEY) ? asBinding(e.get(USER_KEY)) : null;
}

/** @internal A value stored under USER_KEY as a binding, or null when it is none. */
export function asBinding(v: unknown): Binding | null {
  const b = v as Partial<Binding> | null | undefined;
  if (b === null || typeof b !== 'object' || typeof b.u !== 'string' || typeof b.h !== 'string' || typeof b.c !== 'number') return null;
  const m = b.m !== null && typeof b.m === 'object' && !Array.isArray(b.m) ? b.m : null;
  return { u: b.u, h: b.h, c: b.c, m };
}

/** @internal Throws the coded error for a user id no index can key on. */
export function checkUserId(userId: unknown): asserts userId is string {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID) {
    throw new HotsessionError(codes.USERS_UNSUPPORTED, `a user id must be a string of 1..${MAX_USER_ID} characters`);
  }
}

/**
 * Largest login meta, as JSON: it is copied into the session's record and
 * into every index entry, and a listing carries one per session (a user
 * agent and an IP fit many times over).
 */
export const MAX_META_BYTES = 1024;

/** @internal A copy of opt-in meta that a record can hold (plain JSON values only, at most MAX_META_BYTES). */
export function cleanMeta(meta: unknown): Record<string, unknown> | null {
  if (meta === undefined || meta === null) return null;
  if (typeof meta !== 'object' || Array.isArray(meta)) throw new TypeError('login meta must be a plain object');
  const json = JSON.stringify(meta);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_META_BYTES) {
    throw new HotsessionError(codes.ENCODE, `login meta is ${bytes} bytes as JSON, more than ${MAX_META_BYTES}: keep it to what a device list shows`);
  }
  return JSON.parse(json) as Record<string, unknown>;
}

function formatEntry(e: Entry): string {
  return `${e.sid}\n${JSON.stringify({ c: e.c, l: e.l, x: e.x, m: e.m })}`;
}

/** An index entry, or null for one this version cannot read (it is then pruned). */
function parseEntry(raw: unknown): Entry | null {
  if (typeof raw !== 'string') return null;
  const nl = raw.indexOf('\n');
  if (nl <= 0) return null;
  try {
    const j = JSON.parse(raw.slice(nl + 1)) as Partial<Entry>;
    if (typeof j.c !== 'number' || typeof j.l !== 'number' || typeof j.x !== 'number') return null;
    const m = j.m !== null && typeof j.m === 'object' && !Array.isArray(j.m) ? j.m : null;
    return { sid: raw.slice(0, nl), c: j.c, l: j.l, x: j.x, m };
  } catch {
    return null;
  }
}

function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as Promise<T> | null)?.then === 'function';
}

/** @internal Users' sessions over one server store and its index. */
export class UserSessions {
  readonly #store: SessionStore;
  readonly #index: UserIndex;
  readonly #tag: number;
  readonly #limit: number | undefined;
  readonly #max: number;
  readonly #interval: number;
  /**
   * session id -> when this process last refreshed its entry, and the bound
   * ("x") it wrote (by id: the hot path then decodes no binding).
   */
  readonly #seen = new Map<string, { at: number; x: number }>();

  constructor(store: SessionStore, index: UserIndex, tag: number, absoluteTimeout: number | undefined, options: UsersOptions | undefined) {
    const o = options ?? {};
    const max = o.maxPerUser ?? 100;
    const interval = o.seenInterval ?? 60_000;
    if (!Number.isInteger(max) || max < 1) throw optionsError('users.maxPerUser must be a positive integer');
    if (!Number.isFinite(interval) || interval <= 0) throw optionsError('users.seenInterval must be a positive number of ms');
    this.#store = store;
    this.#index = index;
    this.#tag = tag;
    this.#limit = absoluteTimeout;
    this.#max = max;
    this.#interval = interval;
  }

  /** A new handle: random, independent of the session id. */
  static newHandle(): string {
    return generateId();
  }

  /** Marks the entry of session `sid` as refreshed at `now` by this process, listed until `x` (Infinity: the write that sets it follows). */
  note(sid: string, now: number, x = Infinity): void {
    if (this.#seen.size >= SEEN_MAX) this.#seen.clear();
    this.#seen.set(sid, { at: now, x });
  }

  /** Writes `b`'s entry naming session `sid` that lives `ttl` from `now`. */
  put(b: Binding, sid: string, ttl: number, now: number): MaybePromise<number> {
    const x = now + ttl + this.#interval;
    this.note(sid, now, x);
    try {
      return this.#index.put(b.u, b.h, formatEntry({ sid, c: b.c, l: now, x, m: b.m }), x - now);
    } catch (err) {
      this.#seen.delete(sid);
      throw err;
    }
  }

  /**
   * The index write a commit of `s` owes (its entry is due a refresh), or
   * undefined. Anonymous sessions cost one key lookup.
   */
  refresh(s: SessionState, ttl: number, now: number): MaybePromise<void> {
    const e = s.entries;
    if (!e.has(USER_KEY) || !this.due(s.id, now, ttl)) return undefined;
    const b = bindingOf(e);
    return b === null ? undefined : this.refreshBound(b, s.id, ttl, now);
  }

  /**
   * True when session `sid`'s entry is due a refresh: this process has not
   * refreshed it within `seenInterval`, or the session, living `ttl` from
   * `now`, would outlive the bound the entry was written with (its lifetime
   * grew after login: a "remember me" maxAge), when listing would drop it.
   */
  due(sid: string, now: number, ttl: number): boolean {
    const last = this.#seen.get(sid);
    return last === undefined || now - last.at >= this.#interval || now + ttl > last.x;
  }

  /** The refresh of `b`'s entry naming `sid` (see refresh): a failed one is retried at the next request. */
  refreshBound(b: Binding, sid: string, ttl: number, now: number): MaybePromise<void> {
    const w = this.put(b, sid, ttl, now);
    if (!isPromise(w)) return undefined;
    return w.then(
      () => undefined,
      (err: unknown) => {
        // Not refreshed: the next commit tries again.
        this.#seen.delete(sid);
        throw err;
      },
    );
  }

  /** Removes `b`'s entry if it still names `sid` (a logout). */
  unbind(b: Binding, sid: string): MaybePromise<void> {
    this.#seen.delete(sid);
    return this.#index.remove(b.u, b.h, sid);
  }

  async #entries(userId: string, now: number): Promise<Map<string, Entry>> {
    const raw = await this.#index.list(userId);
    const out = new Map<string, Entry>();
    const prune: Array<MaybePromise<void>> = [];
    for (const [handle, value] of raw) {
      const e = parseEntry(value);
      if (e === null) prune.push(this.#index.remove(userId, handle));
      else if (e.x <= now) prune.push(this.#index.remove(userId, handle, e.sid));
      else out.set(handle, e);
    }
    await Promise.all(prune);
    return out;
  }

  /** Ends one session: the store's destroy (later patches answer 'gone'), then its entry. */
  async #end(userId: string, handle: string, e: Entry): Promise<void> {
    this.#seen.delete(e.sid);
    await this.#store.destroy(e.sid);
    await this.#index.remove(userId, handle, e.sid);
  }

  /**
   * After a login that left `size` entries: past `maxPerUser`, prunes
   * expired entries and ends the least recently seen sessions past it.
   * Below the bound a login costs no listing.
   */
  async bound(userId: string, keep: string, size: number, now: number): Promise<void> {
    if (size <= this.#max) return;
    const entries = await this.#entries(userId, now);
    if (entries.size <= this.#max) return;
    const others = [...entries].filter(([h]) => h !== keep).sort((a, b) => a[1].l - b[1].l || a[1].c - b[1].c);
    const ends = others.slice(0, entries.size - this.#max);
    await Promise.all(ends.map(([h, e]) => this.#end(userId, h, e)));
  }

  /** True when the record under `e.sid` is a live session bound to `handle`. */
  async #live(handle: string, e: Entry, now: number): Promise<boolean> {
    const rec = await this.#store.get(e.sid);
    if (rec === null) return false;
    const entries = new Entries();
    if (readRecord(entries, rec, this.#tag, now, this.#limit) < 0) return false;
    return bindingOf(entries)?.h === handle;
  }

  async list(userId: string): Promise<UserSessionInfo[]> {
    checkUserId(userId);
    const now = Date.now();
    const entries = [...(await this.#entries(userId, now))];
    const live = await Promise.all(entries.map(([h, e]) => this.#live(h, e, now)));
    const out: UserSessionInfo[] = [];
    const prune: Array<MaybePromise<void>> = [];
    entries.forEach(([handle, e], i) => {
      if (live[i]) out.push({ handle, createdAt: e.c, lastSeenAt: e.l, meta: e.m });
      else prune.push(this.#index.remove(userId, handle, e.sid));
    });
    await Promise.all(prune);
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeSession(userId: string, handle: string): Promise<boolean> {
    checkUserId(userId);
    if (typeof handle !== 'string') return false;
    const e = (await this.#entries(userId, Date.now())).get(handle);
    if (e === undefined) return false;
    await this.#end(userId, handle, e);
    return true;
  }

  async revokeUser(userId: string, except: string | undefined): Promise<number> {
    checkUserId(userId);
    const entries = [...(await this.#entries(userId, Date.now()))].filter(([h]) => h !== except);
    await Promise.all(entries.map(([h, e]) => this.#end(userId, h, e)));
    return entries.length;
  }
}
